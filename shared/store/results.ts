import type { Sql } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import type { Command, JsonValue } from '../domain/index.js';
import { commandColumnsSql, jsonParam, toCommand } from './rows.js';
import { enqueueCallbacks, enqueueCipResult } from './outbox.js';

export interface ResultInput {
  commandId: number;
  statusCode: number;
  reasonPhrase?: string | null;
  /** Absent when the endpoint sent no payload (stored as NULL). */
  payload?: JsonValue;
}

/**
 * What became of one result:
 * - recorded: PENDING → EXECUTED by this call;
 * - duplicate: an identical result was already recorded (accepted, no change);
 * - conflict: a different result was already recorded (409);
 * - expired: the command expired first (410);
 * - not_found: no such command, or it was deleted (404).
 */
export type ResultOutcome = 'recorded' | 'duplicate' | 'conflict' | 'expired' | 'not_found';

export interface RecordedResults {
  outcomes: Map<number, ResultOutcome>;
  /** Commands this call made EXECUTED: NOTIFY their keys after the commit. */
  executed: Command[];
  /** True when CIP answers were queued: NOTIFY the bridge after the commit. */
  outboxWritten: boolean;
  /** True when callbacks were queued: NOTIFY the callback deliverer after the commit. */
  callbacksWritten: boolean;
}

/**
 * Records an endpoint's results for commands of one (endpoint, type), all in
 * one transaction. A command changes status once: a concurrent second result
 * for the same command waits for the first one's row lock, then finds it
 * EXECUTED and is classified as duplicate or conflict, so exactly one wins.
 */
export async function recordResults(
  sql: Sql,
  endpointId: string,
  commandType: string,
  results: readonly ResultInput[],
  appVersionName: string | null = null,
  /** Whether applications come from Tekton (cex_application_of derives the reporting version's). */
  tektonEnabled = false,
  /** Records the plain share (recordPlainResults), grouped with other callers' under load (shared/commands). */
  recordPlain?: (group: PlainResults) => Promise<Command[]>,
): Promise<RecordedResults> {
  const outcomes = new Map<number, ResultOutcome>();
  // The first result for an id in one message counts; a differing repeat
  // inside the same message is judged against it like any later repeat.
  const unique = new Map<number, ResultInput>();
  for (const r of results) if (!unique.has(r.commandId)) unique.set(r.commandId, r);
  const items = [...unique.values()];
  if (items.length === 0) return { outcomes, executed: [], outboxWritten: false, callbacksWritten: false };

  // The common case first, in ONE statement (no BEGIN/COMMIT round trips):
  // the commands nobody is owed anything for (no callbackUrl, no CIP
  // caller). Whatever it did not record (owed commands, repeats, unknown or
  // expired ids) goes through the transaction below, which classifies it.
  const group: PlainResults = { endpointId, commandType, appVersionName, results: items };
  const recordedPlain = recordPlain ? await recordPlain(group) : (await recordPlainResults(sql, [group], tektonEnabled))[0]!;
  for (const command of recordedPlain) outcomes.set(command.commandId, 'recorded');
  const rest = items.filter((r) => !outcomes.has(r.commandId));
  if (rest.length === 0) return { outcomes, executed: recordedPlain, outboxWritten: false, callbacksWritten: false };

  const ids = rest.map((r) => r.commandId);
  const codes = rest.map((r) => r.statusCode);
  const reasons = rest.map((r) => r.reasonPhrase ?? null);
  const payloads = rest.map((r) => jsonParam(r.payload));

  const { executed, outboxWritten, callbacksWritten } = await withTransaction(sql, async (tx) => {
    const updated = await tx<Record<string, unknown>[]>`
      WITH input AS (
         SELECT * FROM unnest(${ids}::int[], ${codes}::int[], ${reasons}::text[], ${payloads}::text[]) AS t(id, code, reason, payload))
       UPDATE commands c
          SET status = 'EXECUTED', status_code = i.code, reason_phrase = i.reason,
              response_payload = i.payload::jsonb, updated_at = now(), version = c.version + 1,
              status_xid = pg_current_xact_id(), next_push_at = NULL,
              app_version_name = COALESCE(${appVersionName}::text, c.app_version_name),
              application_name = COALESCE(cex_application_of(${appVersionName}::text, ${tektonEnabled}), c.application_name)
         FROM input i
        WHERE c.endpoint_id = ${endpointId} AND c.command_type = ${commandType} AND c.command_id = i.id
          AND c.status = 'PENDING' AND c.expires_at > now()
       RETURNING ${commandColumnsSql(tx, 'c')}`;
    const done = updated.map(toCommand);
    const wroteCallbacks = await enqueueCallbacks(tx, done);
    let wroteOutbox = false;
    for (const command of done) {
      outcomes.set(command.commandId, 'recorded');
      if (command.cipReplySubject) {
        await enqueueCipResult(tx, command);
        wroteOutbox = true;
      }
    }
    const missed = rest.filter((r) => !outcomes.has(r.commandId));
    if (missed.length > 0) {
      const rows = await tx<{ id: number; status: string | null; pastExpiry: boolean; same: boolean }[]>`
        WITH input AS (
           SELECT * FROM unnest(${missed.map((r) => r.commandId)}::int[], ${missed.map((r) => r.statusCode)}::int[],
                                ${missed.map((r) => r.reasonPhrase ?? null)}::text[], ${missed.map((r) => jsonParam(r.payload))}::text[])
                    AS t(id, code, reason, payload))
         SELECT i.id, c.status, c.expires_at <= now() AS "pastExpiry",
                (c.status_code = i.code
                 AND c.reason_phrase IS NOT DISTINCT FROM i.reason
                 AND c.response_payload IS NOT DISTINCT FROM i.payload::jsonb) AS "same"
           FROM input i
           LEFT JOIN commands c
             ON c.endpoint_id = ${endpointId} AND c.command_type = ${commandType} AND c.command_id = i.id`;
      for (const row of rows) {
        outcomes.set(row.id, classifyMiss(row));
      }
    }
    return { executed: done, outboxWritten: wroteOutbox, callbacksWritten: wroteCallbacks };
  });
  return { outcomes, executed: [...recordedPlain, ...executed], outboxWritten, callbacksWritten };
}

/** One endpoint's results for one command type, as recordPlainResults takes them. */
export interface PlainResults {
  endpointId: string;
  commandType: string;
  appVersionName: string | null;
  /** Unique command ids. */
  results: readonly ResultInput[];
}

/**
 * Records the results of several (endpoint, type) groups in ONE statement,
 * for the commands nobody is owed anything for (no callbackUrl, no CIP
 * caller) that are PENDING and not expired; returns, per group, the
 * commands it made EXECUTED. The rest is left for recordResults'
 * transaction to classify.
 *
 * The command rows are locked first in key order: a statement spanning many
 * endpoints and a push completion spanning many (completePushes, which
 * locks in the same order) then wait for each other instead of deadlocking
 * (Postgres would detect it only after deadlock_timeout, a second).
 */
export async function recordPlainResults(sql: Sql, groups: readonly PlainResults[], tektonEnabled: boolean): Promise<Command[][]> {
  const rows = groups.flatMap((g) => g.results.map((r) => ({ g, r })));
  if (rows.length === 0) return groups.map(() => []);
  const updated = await sql<Record<string, unknown>[]>`
    WITH input AS (
       SELECT * FROM unnest(${rows.map((x) => x.g.endpointId)}::text[], ${rows.map((x) => x.g.commandType)}::text[],
                            ${rows.map((x) => x.r.commandId)}::int[], ${rows.map((x) => x.r.statusCode)}::int[],
                            ${rows.map((x) => x.r.reasonPhrase ?? null)}::text[], ${rows.map((x) => jsonParam(x.r.payload))}::text[],
                            ${rows.map((x) => x.g.appVersionName)}::text[])
                AS t(endpoint_id, command_type, id, code, reason, payload, app_version)),
     target AS MATERIALIZED (
       SELECT i.* FROM commands c
         JOIN input i ON c.endpoint_id = i.endpoint_id AND c.command_type = i.command_type AND c.command_id = i.id
        WHERE c.status = 'PENDING' AND c.expires_at > now()
          AND c.callback_url IS NULL AND c.cip_reply_subject IS NULL
        ORDER BY c.endpoint_id, c.command_type, c.command_id
          FOR UPDATE OF c)
     UPDATE commands c
        SET status = 'EXECUTED', status_code = t.code, reason_phrase = t.reason,
            response_payload = t.payload::jsonb, updated_at = now(), version = c.version + 1,
            status_xid = pg_current_xact_id(), next_push_at = NULL,
            app_version_name = COALESCE(t.app_version, c.app_version_name),
            application_name = COALESCE(cex_application_of(t.app_version, ${tektonEnabled}), c.application_name)
       FROM target t
      WHERE c.endpoint_id = t.endpoint_id AND c.command_type = t.command_type AND c.command_id = t.id
     RETURNING ${commandColumnsSql(sql, 'c')}`;
  // Two groups of one (endpoint, type) may share a statement (different ids): each gets its own commands back.
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => g.results.forEach((r) => groupOf.set(`${g.endpointId}/${g.commandType}/${r.commandId}`, i)));
  const recorded = groups.map((): Command[] => []);
  for (const command of updated.map(toCommand)) {
    const i = groupOf.get(`${command.endpointId}/${command.commandType}/${command.commandId}`);
    if (i !== undefined) recorded[i]!.push(command);
  }
  return recorded;
}

function classifyMiss(row: { status: string | null; pastExpiry: boolean; same: boolean }): ResultOutcome {
  if (row.status === null) return 'not_found';
  if (row.status === 'EXECUTED') return row.same ? 'duplicate' : 'conflict';
  // EXPIRED, or still PENDING but past expires_at (the sweeper has not run yet).
  return 'expired';
}
