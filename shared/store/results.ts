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
  const plain = await sql<Record<string, unknown>[]>`
    WITH input AS (
       SELECT * FROM unnest(${items.map((r) => r.commandId)}::int[], ${items.map((r) => r.statusCode)}::int[],
                            ${items.map((r) => r.reasonPhrase ?? null)}::text[], ${items.map((r) => jsonParam(r.payload))}::text[])
                AS t(id, code, reason, payload))
     UPDATE commands c
        SET status = 'EXECUTED', status_code = i.code, reason_phrase = i.reason,
            response_payload = i.payload::jsonb, updated_at = now(), version = c.version + 1,
            status_xid = pg_current_xact_id(), next_push_at = NULL,
            app_version_name = COALESCE(${appVersionName}::text, c.app_version_name),
            application_name = COALESCE(cex_application_of(${appVersionName}::text, ${tektonEnabled}), c.application_name)
       FROM input i
      WHERE c.endpoint_id = ${endpointId} AND c.command_type = ${commandType} AND c.command_id = i.id
        AND c.status = 'PENDING' AND c.expires_at > now()
        AND c.callback_url IS NULL AND c.cip_reply_subject IS NULL
     RETURNING ${commandColumnsSql(sql, 'c')}`;
  const recordedPlain = plain.map(toCommand);
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

function classifyMiss(row: { status: string | null; pastExpiry: boolean; same: boolean }): ResultOutcome {
  if (row.status === null) return 'not_found';
  if (row.status === 'EXECUTED') return row.same ? 'duplicate' : 'conflict';
  // EXPIRED, or still PENDING but past expires_at (the sweeper has not run yet).
  return 'expired';
}
