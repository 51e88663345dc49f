import type { Sql } from '../db/index.js';
import type { CallbackMessage } from './outbox.js';

/** One claimed callback row, as the bridge's callback deliverer sees it. */
export interface CallbackRow {
  /** bigserial, kept as text (postgres.js returns int8 as a string). */
  id: string;
  endpointId: string;
  commandType: string;
  commandId: number;
  message: CallbackMessage | null;
  /** Stable across every attempt: the receiver's de-duplication key (X-CEX-Delivery-Id). */
  deliveryId: string;
  /** Attempts so far, this claim included. */
  attempts: number;
  createdAt: Date;
}

/**
 * Claims up to `limit` due callback rows for `leaseMs`. The attempt counter
 * moves at claim time, so a bridge killed mid-attempt still counts it; the
 * lease (longer than one attempt's timeout) makes the row due again for any
 * replica if the claimer never reports back.
 */
export async function claimDueCallbacks(sql: Sql, limit: number, leaseMs: number): Promise<CallbackRow[]> {
  if (limit <= 0) return [];
  return sql<CallbackRow[]>`
    UPDATE outbox o
        SET claimed_until = now() + make_interval(secs => ${leaseMs}::int / 1000.0), attempts = o.attempts + 1
       FROM (SELECT id FROM outbox
              WHERE kind = 'callback' AND available_at <= now()
                AND (claimed_until IS NULL OR claimed_until <= now())
              ORDER BY available_at, id
              LIMIT ${limit}
              FOR UPDATE SKIP LOCKED) due
      WHERE o.id = due.id
      RETURNING o.id::text AS id, o.endpoint_id AS "endpointId", o.command_type AS "commandType",
                o.command_id AS "commandId", o.message, o.delivery_id::text AS "deliveryId",
                o.attempts, o.created_at AS "createdAt"`;
}

/** The receiver answered 2xx (or the row can never be delivered): the row is done. */
export async function completeCallback(sql: Sql, id: string): Promise<void> {
  await sql`DELETE FROM outbox WHERE id = ${id}::bigint AND kind = 'callback'`;
}

/** Gives a claimed row back, due again after `delayMs`, with what went wrong (NULL: a clean release). */
export async function retryCallback(sql: Sql, id: string, delayMs: number, error: string | null): Promise<void> {
  await sql`
    UPDATE outbox
       SET claimed_until = NULL,
           available_at = now() + make_interval(secs => ${Math.round(delayMs)}::int / 1000.0),
           last_error = COALESCE(${error}, last_error)
     WHERE id = ${id}::bigint AND kind = 'callback'`;
}
