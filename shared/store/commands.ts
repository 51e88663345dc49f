import type { Sql, TransactionSql } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import { ConflictError, classifyPgError } from '../errors/index.js';
import { expiryWindowMillis, type Command, type CommandRef, type JsonValue } from '../domain/index.js';
import { commandColumnsSql, jsonParam, toCommand } from './rows.js';
import { enqueueCipResult, enqueuePush } from './outbox.js';
import { claimedPushSql, PUSH_RETURNING, toClaimedRow, type ClaimedRow } from './push.js';

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
  /** The W3C traceparent of the request creating it (tracing on): its push, result and answers join that trace. */
  traceparent?: string;
  /**
   * Whether applications come from Tekton: every path derives the command's
   * application from the endpoint's app version with cex_application_of
   * (migration 0005), the rule's one home. Default false.
   */
  tektonEnabled?: boolean;
}

export interface CreateOutcome {
  command: Command;
  /** False when an Idempotency-Key or a CIP retry matched an existing command. */
  created: boolean;
  /** True when an outbox row was written: the caller NOTIFYs the outbox after commit. */
  outboxWritten: boolean;
  /**
   * With `claimPush`: the push row this create inserted, claimed for the
   * caller's drainer, with its plan (what claimDueBatch would have read).
   * Absent when the row existed already (it was coalesced into, and whoever
   * holds or next claims it pushes the new command).
   */
  claimed?: ClaimedRow;
}

/**
 * Asks the create to claim the push row it writes (a process whose own
 * drainer will publish it at once: the dev host). Saves the drainer's
 * claim: a statement and a round trip between the create and its push.
 */
export interface ClaimPush {
  leaseMs: number;
}

/**
 * Creates a command and its push (outbox row) in ONE transaction, so a crash
 * after the commit still pushes it (the bridge replays the outbox). The caller
 * sends the outbox NOTIFY after this returns, never inside the transaction.
 * `createPlain`, when given, runs the one-statement create of a plain REST
 * command (createPlainCommands), grouped with other callers' under load.
 */
export async function createCommand(
  sql: Sql,
  input: NewCommand,
  claimPush?: ClaimPush,
  createPlain?: (plain: PlainCreate) => Promise<CreateOutcome>,
): Promise<CreateOutcome> {
  try {
    if (isPlainCreate(input)) {
      const plain = { input, ...(claimPush ? { claimPush } : {}) };
      return await (createPlain ? createPlain(plain) : createPlainCommands(sql, [plain]).then((o) => o[0]!));
    }
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

/** A REST command without Idempotency-Key: created in one statement (createPlainCommands). */
export function isPlainCreate(input: NewCommand): boolean {
  return input.idempotencyKey === undefined && input.commandId === undefined;
}

/** One create of createPlainCommands, with the claim of its push row when asked. */
export interface PlainCreate {
  input: NewCommand;
  claimPush?: ClaimPush;
}

/**
 * The common case, REST commands without Idempotency-Key, each of its own
 * endpoint and type: the id allocations, the endpoints' app versions, the
 * inserts and the push rows in ONE statement (atomic on its own), so a
 * create costs one round trip and holds a pooled connection for one
 * statement, not a six-step transaction; under load many creates share it
 * (shared/commands/create-batcher.ts). Counters and push rows are written in
 * (endpoint, type) order, so two such statements wait for each other rather
 * than deadlock. Returns one outcome per create, in order.
 */
export async function createPlainCommands(sql: Sql, creates: readonly PlainCreate[]): Promise<CreateOutcome[]> {
  const inputs = creates.map((c) => c.input);
  const rows = await sql<Record<string, unknown>[]>`
    WITH input AS (
       SELECT * FROM unnest(${inputs.map((i) => i.endpointId)}::text[], ${inputs.map((i) => i.commandType)}::text[],
                            ${inputs.map((i) => i.tenantId)}::text[], ${inputs.map((i) => jsonParam(i.payload))}::text[],
                            ${inputs.map((i) => expiryWindowMillis(i.ttlMillis, i.awaitTimeoutSeconds))}::bigint[],
                            ${inputs.map((i) => i.ttlMillis)}::bigint[], ${inputs.map((i) => i.origin)}::text[],
                            ${inputs.map((i) => i.callbackUrl ?? null)}::text[], ${inputs.map((i) => i.traceparent ?? null)}::text[],
                            ${inputs.map((i) => (i.tektonEnabled ? 1 : 0))}::int[], ${creates.map((c) => c.claimPush?.leaseMs ?? null)}::int[])
                AS t(endpoint_id, command_type, tenant_id, payload, window_ms, ttl_millis, origin, callback_url, traceparent, tekton, lease_ms)),
     counter AS (
       INSERT INTO command_id_counters (endpoint_id, command_type, last_id)
       SELECT endpoint_id, command_type, 1 FROM input ORDER BY endpoint_id, command_type
       ON CONFLICT (endpoint_id, command_type) DO UPDATE SET last_id = command_id_counters.last_id + 1
       RETURNING endpoint_id, command_type, last_id),
     ins AS (
       INSERT INTO commands (
         endpoint_id, command_type, command_id, tenant_id, request_payload, expires_at, ttl_millis,
         push_once, app_version_name, application_name, origin, callback_url, traceparent)
       SELECT i.endpoint_id, i.command_type, counter.last_id, i.tenant_id, i.payload::jsonb,
              now() + make_interval(secs => i.window_ms / 1000.0), i.ttl_millis,
              i.ttl_millis = 0, ep.app_version_name, cex_application_of(ep.app_version_name, i.tekton = 1),
              i.origin, i.callback_url, i.traceparent
         FROM input i
         JOIN counter ON counter.endpoint_id = i.endpoint_id AND counter.command_type = i.command_type
         LEFT JOIN endpoint_state ep ON ep.endpoint_id = i.endpoint_id
       RETURNING ${commandColumnsSql(sql)}),
     push AS (
       INSERT INTO outbox (kind, endpoint_id, command_type, include_ids, claimed_until, attempts)
       SELECT 'push', n."endpointId", n."commandType", CASE WHEN n."pushOnce" THEN ARRAY[n."commandId"] ELSE '{}'::int[] END,
              now() + make_interval(secs => i.lease_ms / 1000.0), CASE WHEN i.lease_ms IS NULL THEN 0 ELSE 1 END
         FROM ins n JOIN input i ON i.endpoint_id = n."endpointId" AND i.command_type = n."commandType"
        ORDER BY n."endpointId", n."commandType"
       -- A row that exists keeps its claim and attempts: its holder, or its next claimer, pushes the new command.
       ON CONFLICT (endpoint_id, command_type) WHERE kind = 'push' DO UPDATE
         SET generation = outbox.generation + 1,
             include_ids = outbox.include_ids || EXCLUDED.include_ids,
             available_at = LEAST(outbox.available_at, now())
       RETURNING ${sql.unsafe(PUSH_RETURNING)}, claimed_until IS NOT NULL AS claimed)
     SELECT i.*, ${claimedPushSql(sql)} FROM ins i`;
  const byKey = new Map<string, CreateOutcome>();
  for (const { claimedPush, ...row } of rows) {
    const command = toCommand(row);
    byKey.set(`${command.endpointId}/${command.commandType}`, {
      command,
      created: true,
      outboxWritten: true,
      ...(claimedPush ? { claimed: toClaimedRow(claimedPush) } : {}),
    });
  }
  return inputs.map((i) => byKey.get(`${i.endpointId}/${i.commandType}`)!);
}

async function createInTransaction(tx: TransactionSql, input: NewCommand): Promise<CreateOutcome> {
  if (input.idempotencyKey !== undefined) {
    const replay = await findIdempotentReplay(tx, input);
    if (replay) return { command: replay, created: false, outboxWritten: false };
  }
  const commandId = input.commandId ?? (await allocateCommandId(tx, input.endpointId, input.commandType));
  if (input.commandId !== undefined) await raiseCounterPast(tx, input.endpointId, input.commandType, input.commandId);

  const pushOnce = input.ttlMillis === 0;
  const windowMs = expiryWindowMillis(input.ttlMillis, input.awaitTimeoutSeconds);

  // The endpoint's app version and its application are read in the insert,
  // by the same rule as the one-statement create.
  const rows = await tx<Record<string, unknown>[]>`
    INSERT INTO commands (
       endpoint_id, command_type, command_id, tenant_id, request_payload, expires_at, ttl_millis,
       push_once, app_version_name, application_name, origin, idempotency_key,
       cip_reply_subject, cip_correlation_id, callback_url, traceparent)
     SELECT ${input.endpointId}, ${input.commandType}, ${commandId}, ${input.tenantId}, ${jsonParam(input.payload)}::text::jsonb,
       now() + make_interval(secs => ${windowMs}::bigint / 1000.0), ${input.ttlMillis},
       ${pushOnce}, ep.app_version_name, cex_application_of(ep.app_version_name, ${input.tektonEnabled ?? false}),
       ${input.origin}, ${input.idempotencyKey ?? null},
       ${input.cipReplySubject ?? null}, ${input.cipCorrelationId ?? null}, ${input.callbackUrl ?? null},
       ${input.traceparent ?? null}
       FROM (SELECT (SELECT app_version_name FROM endpoint_state WHERE endpoint_id = ${input.endpointId}) AS app_version_name) AS ep
     ON CONFLICT (endpoint_id, command_type, command_id) DO NOTHING
     RETURNING ${commandColumnsSql(tx)}`;
  if (rows.length === 0) return retryOfExistingCipCommand(tx, input, commandId);

  const command = toCommand(rows[0]!);
  await enqueuePush(tx, input.endpointId, input.commandType, pushOnce ? [commandId] : []);
  return { command, created: true, outboxWritten: true };
}

async function findIdempotentReplay(tx: TransactionSql, input: NewCommand): Promise<Command | undefined> {
  const rows = await tx<(Record<string, unknown> & { live: boolean; samePayload: boolean })[]>`
    SELECT ${commandColumnsSql(tx)}, (expires_at > now()) AS "live",
           (request_payload = ${jsonParam(input.payload)}::text::jsonb) AS "samePayload"
      FROM commands
     WHERE tenant_id = ${input.tenantId} AND endpoint_id = ${input.endpointId} AND command_type = ${input.commandType}
       AND idempotency_key = ${input.idempotencyKey!}
     FOR UPDATE`;
  const row = rows[0];
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
  const rows = await tx<(Record<string, unknown> & { samePayload: boolean })[]>`
    SELECT ${commandColumnsSql(tx)}, (request_payload = ${jsonParam(input.payload)}::text::jsonb) AS "samePayload"
      FROM commands WHERE endpoint_id = ${input.endpointId} AND command_type = ${input.commandType} AND command_id = ${commandId}
       FOR UPDATE`;
  const row = rows[0];
  if (!row || !row.samePayload || row.tenantId !== input.tenantId) {
    throw new ConflictError(
      'COMMAND_ID_IN_USE',
      `command ${input.endpointId}/${input.commandType}/${commandId} already exists with another payload`,
    );
  }
  let command = toCommand(row);
  let outboxWritten = false;
  if (input.cipReplySubject !== undefined) {
    const updated = await tx<Record<string, unknown>[]>`
      UPDATE commands SET cip_reply_subject = ${input.cipReplySubject}, cip_correlation_id = ${input.cipCorrelationId ?? null}
       WHERE endpoint_id = ${input.endpointId} AND command_type = ${input.commandType} AND command_id = ${commandId}
       RETURNING ${commandColumnsSql(tx)}`;
    command = toCommand(updated[0]!);
    if (command.status !== 'PENDING') {
      await enqueueCipResult(tx, command);
      outboxWritten = true;
    }
  }
  return { command, created: false, outboxWritten };
}

/** One command as its tenant sees it; another tenant's command is "not found". */
export async function readCommand(sql: Sql, tenantId: string, ref: CommandRef): Promise<Command | undefined> {
  const rows = await sql<Record<string, unknown>[]>`
    SELECT ${commandColumnsSql(sql)} FROM commands
     WHERE endpoint_id = ${ref.endpointId} AND command_type = ${ref.commandType} AND command_id = ${ref.commandId}
       AND tenant_id = ${tenantId}`;
  return rows[0] ? toCommand(rows[0]) : undefined;
}

/** A watched command and the newest version its watchers know (-1: none yet). */
export interface KnownCommand extends CommandRef {
  known: number;
}

/** What readCommandsNewerThan found: rows past their known version, and the commands gone. */
export interface NewerCommands {
  rows: Command[];
  /** Indexes (into the refs read) of commands that no longer exist. */
  gone: number[];
}

/**
 * Reads the commands, whatever their tenant (the change feed), whose version
 * is past the one their watchers know, and names those deleted. Unchanged
 * rows cost an index probe and send nothing back: the feed's safety tick
 * re-checks every watched command each second, and with 10,000 sync waiters
 * reading their full rows made ~13 MiB of garbage a second (measured on the
 * dev host's heap) for rows nobody was told.
 */
export async function readCommandsNewerThan(sql: Sql, refs: readonly KnownCommand[]): Promise<NewerCommands> {
  if (refs.length === 0) return { rows: [], gone: [] };
  const found = await sql<Record<string, unknown>[]>`
    SELECT k.i::int AS "knownIndex", ${commandColumnsSql(sql, 'c')}
      FROM unnest(${refs.map((r) => r.endpointId)}::text[], ${refs.map((r) => r.commandType)}::text[],
                  ${refs.map((r) => r.commandId)}::int[], ${refs.map((r) => r.known)}::int[])
             WITH ORDINALITY AS k(endpoint_id, command_type, command_id, known, i)
      LEFT JOIN commands c
        ON c.endpoint_id = k.endpoint_id AND c.command_type = k.command_type AND c.command_id = k.command_id
     WHERE c.version IS NULL OR c.version > k.known`;
  const rows: Command[] = [];
  const gone: number[] = [];
  for (const row of found) {
    const index = (row.knownIndex as number) - 1;
    if (row.version === null) gone.push(index);
    else {
      delete row.knownIndex;
      rows.push(toCommand(row));
    }
  }
  return { rows, gone };
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
    const rows = await tx<Record<string, unknown>[]>`
      DELETE FROM commands
       WHERE endpoint_id = ${ref.endpointId} AND command_type = ${ref.commandType} AND command_id = ${ref.commandId}
         AND tenant_id = ${tenantId}
       RETURNING ${commandColumnsSql(tx)}`;
    if (rows.length === 0) return { deleted: false, outboxWritten: false };
    const command = toCommand(rows[0]!);
    if (command.status === 'PENDING' && command.cipReplySubject) {
      await enqueueCipResult(tx, { ...command, statusCode: 404, reasonPhrase: 'command deleted', responsePayload: null });
      return { deleted: true, outboxWritten: true };
    }
    return { deleted: true, outboxWritten: false };
  });
}
