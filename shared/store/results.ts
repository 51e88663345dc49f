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
  /** True when CIP answers or callbacks were queued: NOTIFY the outbox after the commit. */
  outboxWritten: boolean;
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
  if (items.length === 0) return { outcomes, executed: [], outboxWritten: false };

  const ids = items.map((r) => r.commandId);
  const codes = items.map((r) => r.statusCode);
  const reasons = items.map((r) => r.reasonPhrase ?? null);
  const payloads = items.map((r) => jsonParam(r.payload));

  const { executed, outboxWritten } = await withTransaction(sql, async (tx) => {
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
    let wroteOutbox = await enqueueCallbacks(tx, done);
    for (const command of done) {
      outcomes.set(command.commandId, 'recorded');
      if (command.cipReplySubject) {
        await enqueueCipResult(tx, command);
        wroteOutbox = true;
      }
    }
    const missed = items.filter((r) => !outcomes.has(r.commandId));
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
    return { executed: done, outboxWritten: wroteOutbox };
  });
  return { outcomes, executed, outboxWritten };
}

function classifyMiss(row: { status: string | null; pastExpiry: boolean; same: boolean }): ResultOutcome {
  if (row.status === null) return 'not_found';
  if (row.status === 'EXECUTED') return row.same ? 'duplicate' : 'conflict';
  // EXPIRED, or still PENDING but past expires_at (the sweeper has not run yet).
  return 'expired';
}
