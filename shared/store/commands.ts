import type { Sql, TransactionSql } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import { ConflictError, classifyPgError } from '../errors/index.js';
import { expiryWindowMillis, type Command, type CommandRef, type JsonValue } from '../domain/index.js';
import { COMMAND_COLUMNS, jsonParam, toCommand } from './rows.js';
import { enqueueCipResult, enqueuePush } from './outbox.js';

export interface NewCommand {
  tenantId: string;
  endpointId: string;
  commandType: string;
  /** Given by 12/CIP callers; REST commands get the next id of (endpoint, type). */
  commandId?: number;
  payload: JsonValue;
  ttlMillis: number;
  /** How long a sync caller waits: the whole life of a zero-TTL command. */
  awaitTimeoutSeconds: number;
  origin: Command['origin'];
  idempotencyKey?: string;
  cipReplySubject?: string;
  cipCorrelationId?: string;
  callbackUrl?: string;
  /** The application of the endpoint's app version, when the caller knows how to derive it. */
  applicationOf?: (appVersionName: string) => string | null;
  /** Whether applications come from Tekton (the one-statement create derives them in SQL). */
  tektonEnabled?: boolean;
}

export interface CreateOutcome {
  command: Command;
  /** False when an Idempotency-Key or a CIP retry matched an existing command. */
  created: boolean;
  /** True when an outbox row was written: the caller NOTIFYs the outbox after commit. */
  outboxWritten: boolean;
}

/**
 * Creates a command and its push (outbox row) in ONE transaction, so a crash
 * after the commit still pushes it (the bridge replays the outbox). The caller
 * sends the outbox NOTIFY after this returns, never inside the transaction.
 */
export async function createCommand(sql: Sql, input: NewCommand): Promise<CreateOutcome> {
  try {
    if (input.idempotencyKey === undefined && input.commandId === undefined) return await createInOneStatement(sql, input);
    return await withTransaction(sql, (tx) => createInTransaction(tx, input));
  } catch (err) {
    // Two invokes with one new Idempotency-Key raced: the loser retries and
    // finds the winner's command.
    if (classifyPgError(err) === 'unique_violation' && input.idempotencyKey !== undefined) {
      return withTransaction(sql, (tx) => createInTransaction(tx, input));
    }
    if (classifyPgError(err) === 'out_of_range') {
      throw new ConflictError('COMMAND_ID_EXHAUSTED', `no command id is left for ${input.endpointId}/${input.commandType}`, { cause: err });
    }
    throw err;
  }
}

/**
 * The common case, a REST command without Idempotency-Key: the id
 * allocation, the endpoint's app version, the insert and the push row in ONE
 * statement (atomic on its own), so a create costs one round trip and holds
 * a pooled connection for one statement, not a six-step transaction.
 */
async function createInOneStatement(sql: Sql, input: NewCommand): Promise<CreateOutcome> {
  const pushOnce = input.ttlMillis === 0;
  const windowMs = expiryWindowMillis(input.ttlMillis, input.awaitTimeoutSeconds);
  const rows = await sql.unsafe(
    `WITH counter AS (
       INSERT INTO command_id_counters (endpoint_id, command_type, last_id) VALUES ($1, $2, 1)
       ON CONFLICT (endpoint_id, command_type) DO UPDATE SET last_id = command_id_counters.last_id + 1
       RETURNING last_id),
     ep AS (SELECT app_version_name FROM endpoint_state WHERE endpoint_id = $1),
     ins AS (
       INSERT INTO commands (
         endpoint_id, command_type, command_id, tenant_id, request_payload, expires_at, ttl_millis,
         push_once, app_version_name, application_name, origin, callback_url)
       SELECT $1, $2, counter.last_id, $3, $4::text::jsonb, now() + make_interval(secs => $5::bigint / 1000.0), $6,
              $7, ep.app_version_name, cex_application_of(ep.app_version_name, $8), $9, $10
         FROM counter LEFT JOIN ep ON true
       RETURNING ${COMMAND_COLUMNS}),
     push AS (
       INSERT INTO outbox (kind, endpoint_id, command_type, include_ids)
       SELECT 'push', "endpointId", "commandType", CASE WHEN "pushOnce" THEN ARRAY["commandId"] ELSE '{}'::int[] END FROM ins
       ON CONFLICT (endpoint_id, command_type) WHERE kind = 'push' DO UPDATE
         SET generation = outbox.generation + 1,
             include_ids = outbox.include_ids || EXCLUDED.include_ids,
             available_at = LEAST(outbox.available_at, now()))
     SELECT * FROM ins`,
    [
      input.endpointId, input.commandType, input.tenantId, jsonParam(input.payload), windowMs, input.ttlMillis,
      pushOnce, input.tektonEnabled ?? false, input.origin, input.callbackUrl ?? null,
    ] as never[],
  );
  return { command: toCommand(rows[0] as Record<string, unknown>), created: true, outboxWritten: true };
}

async function createInTransaction(tx: TransactionSql, input: NewCommand): Promise<CreateOutcome> {
  if (input.idempotencyKey !== undefined) {
    const replay = await findIdempotentReplay(tx, input);
    if (replay) return { command: replay, created: false, outboxWritten: false };
  }
  const commandId = input.commandId ?? (await allocateCommandId(tx, input.endpointId, input.commandType));
  if (input.commandId !== undefined) await raiseCounterPast(tx, input.endpointId, input.commandType, input.commandId);

  const [endpoint] = await tx<{ appVersionName: string | null }[]>`
    SELECT app_version_name AS "appVersionName" FROM endpoint_state WHERE endpoint_id = ${input.endpointId}`;
  const appVersionName = endpoint?.appVersionName ?? null;
  const applicationName = appVersionName && input.applicationOf ? input.applicationOf(appVersionName) : null;
  const pushOnce = input.ttlMillis === 0;
  const windowMs = expiryWindowMillis(input.ttlMillis, input.awaitTimeoutSeconds);

  const rows = await tx.unsafe(
    `INSERT INTO commands (
       endpoint_id, command_type, command_id, tenant_id, request_payload, expires_at, ttl_millis,
       push_once, app_version_name, application_name, origin, idempotency_key,
       cip_reply_subject, cip_correlation_id, callback_url)
     VALUES ($1, $2, $3, $4, $5::text::jsonb, now() + make_interval(secs => $6::bigint / 1000.0), $7,
       $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (endpoint_id, command_type, command_id) DO NOTHING
     RETURNING ${COMMAND_COLUMNS}`,
    [
      input.endpointId, input.commandType, commandId, input.tenantId, jsonParam(input.payload), windowMs, input.ttlMillis,
      pushOnce, appVersionName, applicationName, input.origin, input.idempotencyKey ?? null,
      input.cipReplySubject ?? null, input.cipCorrelationId ?? null, input.callbackUrl ?? null,
    ] as never[],
  );
  if (rows.length === 0) return retryOfExistingCipCommand(tx, input, commandId);

  const command = toCommand(rows[0] as Record<string, unknown>);
  await enqueuePush(tx, input.endpointId, input.commandType, pushOnce ? [commandId] : []);
  return { command, created: true, outboxWritten: true };
}

async function findIdempotentReplay(tx: TransactionSql, input: NewCommand): Promise<Command | undefined> {
  const rows = await tx.unsafe(
    `SELECT ${COMMAND_COLUMNS}, (expires_at > now()) AS "live",
            (request_payload = $5::text::jsonb) AS "samePayload"
       FROM commands
      WHERE tenant_id = $1 AND endpoint_id = $2 AND command_type = $3 AND idempotency_key = $4
      FOR UPDATE`,
    [input.tenantId, input.endpointId, input.commandType, input.idempotencyKey!, jsonParam(input.payload)] as never[],
  );
  const row = rows[0] as (Record<string, unknown> & { live: boolean; samePayload: boolean }) | undefined;
  if (!row) return undefined;
  if (!row.live) {
    // Past its TTL the key is free again: release it from the old command.
    await tx`UPDATE commands SET idempotency_key = NULL
              WHERE endpoint_id = ${input.endpointId} AND command_type = ${input.commandType}
                AND command_id = ${row.commandId as number}`;
    return undefined;
  }
  if (!row.samePayload) {
    throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different payload');
  }
  return toCommand(row);
}

/** Next REST id for (endpoint, type); the counter row stays locked until commit. */
async function allocateCommandId(tx: TransactionSql, endpointId: string, commandType: string): Promise<number> {
  const [row] = await tx<{ lastId: number }[]>`
    INSERT INTO command_id_counters (endpoint_id, command_type, last_id)
    VALUES (${endpointId}, ${commandType}, 1)
    ON CONFLICT (endpoint_id, command_type) DO UPDATE SET last_id = command_id_counters.last_id + 1
    RETURNING last_id AS "lastId"`;
  return row!.lastId;
}

async function raiseCounterPast(tx: TransactionSql, endpointId: string, commandType: string, commandId: number): Promise<void> {
  await tx`
    INSERT INTO command_id_counters (endpoint_id, command_type, last_id)
    VALUES (${endpointId}, ${commandType}, ${commandId})
    ON CONFLICT (endpoint_id, command_type)
      DO UPDATE SET last_id = GREATEST(command_id_counters.last_id, EXCLUDED.last_id)`;
}

/**
 * A 12/CIP request for an id that exists: the same payload is a retry (the
 * new caller is answered; at once if the result is already known), another
 * payload is a conflict (docs/nats-protocols.md, 12/CIP).
 */
async function retryOfExistingCipCommand(tx: TransactionSql, input: NewCommand, commandId: number): Promise<CreateOutcome> {
  const rows = await tx.unsafe(
    `SELECT ${COMMAND_COLUMNS}, (request_payload = $4::text::jsonb) AS "samePayload"
       FROM commands WHERE endpoint_id = $1 AND command_type = $2 AND command_id = $3 FOR UPDATE`,
    [input.endpointId, input.commandType, commandId, jsonParam(input.payload)] as never[],
  );
  const row = rows[0] as (Record<string, unknown> & { samePayload: boolean }) | undefined;
  if (!row || !row.samePayload || row.tenantId !== input.tenantId) {
    throw new ConflictError('COMMAND_ID_IN_USE', `command ${input.endpointId}/${input.commandType}/${commandId} already exists with another payload`);
  }
  let command = toCommand(row);
  let outboxWritten = false;
  if (input.cipReplySubject !== undefined) {
    const updated = await tx.unsafe(
      `UPDATE commands SET cip_reply_subject = $4, cip_correlation_id = $5
        WHERE endpoint_id = $1 AND command_type = $2 AND command_id = $3
        RETURNING ${COMMAND_COLUMNS}`,
      [input.endpointId, input.commandType, commandId, input.cipReplySubject, input.cipCorrelationId ?? null] as never[],
    );
    command = toCommand(updated[0] as Record<string, unknown>);
    if (command.status !== 'PENDING') {
      await enqueueCipResult(tx, command);
      outboxWritten = true;
    }
  }
  return { command, created: false, outboxWritten };
}

/** One command as its tenant sees it; another tenant's command is "not found". */
export async function readCommand(sql: Sql, tenantId: string, ref: CommandRef): Promise<Command | undefined> {
  const rows = await sql.unsafe(
    `SELECT ${COMMAND_COLUMNS} FROM commands
      WHERE endpoint_id = $1 AND command_type = $2 AND command_id = $3 AND tenant_id = $4`,
    [ref.endpointId, ref.commandType, ref.commandId, tenantId] as never[],
  );
  return rows[0] ? toCommand(rows[0] as Record<string, unknown>) : undefined;
}

/** Reads several commands by key, whatever their tenant (waiters, SSE, the bridge). */
export async function readCommandsByKey(sql: Sql, refs: readonly CommandRef[]): Promise<Command[]> {
  if (refs.length === 0) return [];
  const rows = await sql.unsafe(
    `SELECT ${COMMAND_COLUMNS} FROM commands
      WHERE (endpoint_id, command_type, command_id) IN (
        SELECT * FROM unnest($1::text[], $2::text[], $3::int[]))`,
    [refs.map((r) => r.endpointId), refs.map((r) => r.commandType), refs.map((r) => r.commandId)] as never[],
  );
  return rows.map((r) => toCommand(r as Record<string, unknown>));
}

export interface DeleteOutcome {
  deleted: boolean;
  /** True when a CIP caller is owed a "deleted" answer (outbox row written). */
  outboxWritten: boolean;
}

/**
 * Deletes a command of `tenantId`: gone from every list, no longer outstanding,
 * a later result gets 404. A CIP caller still waiting is answered 404.
 */
export async function deleteCommand(sql: Sql, tenantId: string, ref: CommandRef): Promise<DeleteOutcome> {
  return withTransaction(sql, async (tx) => {
    const rows = await tx.unsafe(
      `DELETE FROM commands
        WHERE endpoint_id = $1 AND command_type = $2 AND command_id = $3 AND tenant_id = $4
        RETURNING ${COMMAND_COLUMNS}`,
      [ref.endpointId, ref.commandType, ref.commandId, tenantId] as never[],
    );
    if (rows.length === 0) return { deleted: false, outboxWritten: false };
    const command = toCommand(rows[0] as Record<string, unknown>);
    if (command.status === 'PENDING' && command.cipReplySubject) {
      await enqueueCipResult(tx, { ...command, statusCode: 404, reasonPhrase: 'command deleted', responsePayload: null });
      return { deleted: true, outboxWritten: true };
    }
    return { deleted: true, outboxWritten: false };
  });
}
