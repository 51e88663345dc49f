import type { Sql, TransactionSql } from '../db/index.js';
import { toDescriptor, type Command, type JsonValue } from '../domain/index.js';

/** What a cip_result outbox row carries: everything the CommandInvocationResult needs. */
export interface CipResultMessage {
  replySubject: string;
  correlationId: string;
  appVersionName: string | null;
  statusCode: number;
  reasonPhrase: string | null;
  payload: JsonValue | null;
  /** The command's W3C traceparent (tracing on): the result's publish joins its trace. */
  traceparent?: string;
}

/**
 * Asks the bridge to push the outstanding commands of (endpoint, type).
 * Requests coalesce into the one pending row of that pair; the generation bump
 * tells a bridge publishing right now that it must publish once more.
 */
export async function enqueuePush(
  tx: TransactionSql,
  endpointId: string,
  commandType: string,
  includeIds: readonly number[] = [],
): Promise<void> {
  await tx`
    INSERT INTO outbox (kind, endpoint_id, command_type, include_ids)
    VALUES ('push', ${endpointId}, ${commandType}, ${includeIds as number[]}::int[])
    ON CONFLICT (endpoint_id, command_type) WHERE kind = 'push' DO UPDATE
      SET generation   = outbox.generation + 1,
          include_ids  = outbox.include_ids || EXCLUDED.include_ids,
          available_at = LEAST(outbox.available_at, now())`;
}

/** Owes the command's CIP caller its result (or its expiry/deletion answer). */
export async function enqueueCipResult(tx: TransactionSql, command: Command): Promise<void> {
  if (!command.cipReplySubject) return;
  const message: CipResultMessage = {
    replySubject: command.cipReplySubject,
    correlationId: command.cipCorrelationId ?? '',
    appVersionName: command.appVersionName,
    statusCode: command.statusCode ?? 408,
    reasonPhrase: command.reasonPhrase,
    payload: command.responsePayload,
    ...(command.traceparent ? { traceparent: command.traceparent } : {}),
  };
  await tx`
    INSERT INTO outbox (kind, endpoint_id, command_type, command_id, message)
    VALUES ('cip_result', ${command.endpointId}, ${command.commandType}, ${command.commandId},
            ${JSON.stringify(message)}::text::jsonb)
    ON CONFLICT (endpoint_id, command_type, command_id) WHERE kind = 'cip_result' DO UPDATE
      SET message = EXCLUDED.message, available_at = now(), claimed_until = NULL`;
}

/**
 * What a callback outbox row carries: where to POST, and the exact body (the
 * descriptor as JSON text, captured when the command became final), so every
 * retry sends, and signs, the same bytes.
 */
export interface CallbackMessage {
  url: string;
  body: string;
  /** The command's W3C traceparent (tracing on): the POST joins its trace and carries it on. */
  traceparent?: string;
}

/**
 * Owes each command that has a callbackUrl one callback, in the transaction
 * that made it EXECUTED or EXPIRED (one statement for all of them). Returns
 * true when a row was written: NOTIFY the outbox after the commit.
 */
export async function enqueueCallbacks(tx: TransactionSql, commands: readonly Command[]): Promise<boolean> {
  const owed = commands.filter((c) => c.callbackUrl);
  if (owed.length === 0) return false;
  const messages = owed.map((c): CallbackMessage => ({
    url: c.callbackUrl!,
    body: JSON.stringify(toDescriptor(c)),
    ...(c.traceparent ? { traceparent: c.traceparent } : {}),
  }));
  await tx`
    INSERT INTO outbox (kind, endpoint_id, command_type, command_id, message)
    SELECT 'callback', u.e, u.t, u.i, u.m::jsonb
      FROM unnest(${owed.map((c) => c.endpointId)}::text[], ${owed.map((c) => c.commandType)}::text[],
                  ${owed.map((c) => c.commandId)}::int[], ${messages.map((m) => JSON.stringify(m))}::text[]) AS u(e, t, i, m)
    ON CONFLICT (endpoint_id, command_type, command_id) WHERE kind = 'callback' DO NOTHING`;
  return true;
}

/** One claimed outbox row, as the bridge's drainer sees it. */
export interface OutboxRow {
  /** bigserial, kept as text (postgres.js returns int8 as a string). */
  id: string;
  kind: 'push' | 'cip_result';
  endpointId: string;
  commandType: string;
  commandId: number | null;
  includeIds: number[];
  message: CipResultMessage | null;
  generation: number;
  /** Attempts so far, this claim included. */
  attempts: number;
  createdAt: Date;
}

// Qualified with `o`: the claim joins the row to its own id.
const OUTBOX_COLUMNS = `
  o.id::text AS id, o.kind, o.endpoint_id AS "endpointId", o.command_type AS "commandType",
  o.command_id AS "commandId", o.include_ids AS "includeIds", o.message, o.generation,
  o.attempts, o.created_at AS "createdAt"`;

/**
 * Claims up to `limit` due push and cip_result rows for `leaseMs`. SKIP LOCKED
 * plus the lease keep several bridge replicas off each other's rows; a lease
 * that runs out (the claimer died) makes the row due again. Callback rows are
 * left alone: another unit delivers them.
 */
export async function claimDueOutbox(sql: Sql, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  const rows = await sql<OutboxRow[]>`
    UPDATE outbox o
        SET claimed_until = now() + make_interval(secs => ${leaseMs}::int / 1000.0), attempts = o.attempts + 1
       FROM (SELECT id FROM outbox
              WHERE kind IN ('push', 'cip_result') AND available_at <= now()
                AND (claimed_until IS NULL OR claimed_until <= now())
              ORDER BY available_at, id
              LIMIT ${limit}
              FOR UPDATE SKIP LOCKED) due
      WHERE o.id = due.id
      RETURNING ${sql.unsafe(OUTBOX_COLUMNS)}`;
  return [...rows].sort((a, b) => Number(a.id) - Number(b.id));
}

/**
 * Gives a claimed row back: due again after `delayMs`, with the error that
 * made it fail (NULL after a clean release, e.g. NATS went down mid-batch).
 */
export async function releaseOutbox(sql: Sql, id: string, delayMs: number, error: string | null): Promise<void> {
  await sql`
    UPDATE outbox
       SET claimed_until = NULL,
           available_at = now() + make_interval(secs => ${delayMs}::int / 1000.0),
           last_error = COALESCE(${error}, last_error)
     WHERE id = ${id}::bigint`;
}

/**
 * Deletes a published cip_result row, unless a CIP retry rewrote its message
 * meanwhile (new reply subject): then the row is due again at once.
 */
export async function completeCipResult(sql: Sql, row: OutboxRow): Promise<boolean> {
  const deleted = await sql`
    DELETE FROM outbox WHERE id = ${row.id}::bigint AND message = ${JSON.stringify(row.message)}::text::jsonb RETURNING 1`;
  if (deleted.length > 0) return true;
  await sql`UPDATE outbox SET claimed_until = NULL WHERE id = ${row.id}::bigint`;
  return false;
}

/** Deletes a row that can never be published (its message does not encode). */
export async function discardOutbox(sql: Sql, id: string): Promise<void> {
  await sql`DELETE FROM outbox WHERE id = ${id}::bigint`;
}

/** What the outbox holds back, for the lag gauges. */
export interface OutboxLag {
  /** Age in seconds of the oldest due row of each kind (0 when none is due). */
  push: number;
  cipResult: number;
  callback: number;
  /** Callback rows waiting, due or backing off after failed attempts (counted up to CALLBACKS_COUNTED). */
  callbacksWaiting: number;
}

// A receiver down for an hour at a high result rate could leave many rows:
// the gauge says "at least this many" past the cap rather than scan them all.
export const CALLBACKS_COUNTED = 100_000;

/** OutboxLag in one statement. */
export async function outboxLag(sql: Sql): Promise<OutboxLag> {
  const [row] = await sql<{ push: number | null; cipResult: number | null; callback: number | null; callbacksWaiting: number }[]>`
    SELECT
      (SELECT EXTRACT(EPOCH FROM now() - min(available_at))::float8 FROM outbox
        WHERE kind = 'push' AND available_at <= now()) AS push,
      (SELECT EXTRACT(EPOCH FROM now() - min(available_at))::float8 FROM outbox
        WHERE kind = 'cip_result' AND available_at <= now()) AS "cipResult",
      (SELECT EXTRACT(EPOCH FROM now() - min(available_at))::float8 FROM outbox
        WHERE kind = 'callback' AND available_at <= now()) AS callback,
      (SELECT count(*)::int FROM (SELECT 1 FROM outbox WHERE kind = 'callback' LIMIT ${CALLBACKS_COUNTED}) c) AS "callbacksWaiting"`;
  return {
    push: Math.max(0, row?.push ?? 0),
    cipResult: Math.max(0, row?.cipResult ?? 0),
    callback: Math.max(0, row?.callback ?? 0),
    callbacksWaiting: row?.callbacksWaiting ?? 0,
  };
}
