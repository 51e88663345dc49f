import type { Sql, TransactionSql } from '../db/index.js';
import type { JsonValue } from '../domain/index.js';
import type { OutboxRow } from './outbox.js';

/** A pool or a transaction: these statements work inside either. */
type Queryable = Sql | TransactionSql;

/** One command a push carries, with what the bridge needs to schedule the next one. */
export interface PushCommand {
  commandId: number;
  payload: JsonValue;
  pushOnce: boolean;
  /** Pushes so far (before this one). */
  pushCount: number;
  /** Whether a re-push of it was due (next_push_at passed): labels the push's reason. */
  repushDue: boolean;
  /** The W3C traceparent it was created in (tracing on; claimDueBatch reads it): its pushes join that trace. */
  traceparent?: string | null;
}

/**
 * What a push of (endpoint, type) sends, oldest first: the outstanding
 * commands (PENDING, not past expiry, not push-once) plus the row's push-once
 * commands still PENDING and never pushed. A push-once command is pushed at
 * most once, even when its row is processed again after a coalesced request.
 * Push-once commands skip the expiry check: with awaitTimeout 0 they expire
 * at creation, and the sweeper waits for their one push (expiry.ts).
 */
export async function readPushCommands(
  sql: Queryable,
  endpointId: string,
  commandType: string,
  includeIds: readonly number[],
): Promise<PushCommand[]> {
  const rows = await sql<(PushCommand & { payload: JsonValue | null })[]>`
    SELECT command_id AS "commandId", request_payload AS payload, push_once AS "pushOnce",
           push_count AS "pushCount", COALESCE(next_push_at <= now(), false) AS "repushDue"
      FROM commands
     WHERE endpoint_id = ${endpointId} AND command_type = ${commandType} AND status = 'PENDING'
       AND ((NOT push_once AND expires_at > now())
            OR (push_once AND push_count = 0 AND command_id = ANY(${includeIds as number[]}::int[])))
     ORDER BY created_at, command_id`;
  return rows.map((r) => ({ ...r, payload: r.payload ?? null }));
}

/** A command the bridge just published, with the delay until its next re-push. */
export interface PushedCommand {
  commandId: number;
  /** False for a command cut from the push (size): only its next push is planned. */
  pushed: boolean;
  /** Ignored for push-once commands: they are never re-pushed. */
  repushDelayMs: number;
}

/**
 * After a push was published and flushed: counts it on each command, plans
 * the next re-push (capped at expiry; none for push-once) and, in the same
 * statement, deletes the outbox row if no request was coalesced into it
 * meanwhile (same generation). Otherwise the row is released so it is
 * processed again at once. Returns whether the row was deleted.
 */
export async function completePush(sql: Sql, row: OutboxRow, pushed: readonly PushedCommand[]): Promise<boolean> {
  const deleted = await sql`
    WITH input AS (
      SELECT * FROM unnest(${pushed.map((p) => p.commandId)}::int[], ${pushed.map((p) => p.repushDelayMs)}::int[],
                           ${pushed.map((p) => (p.pushed ? 1 : 0))}::int[]) AS t(id, delay_ms, pushed)),
    -- Key order, as completePushes and recordPlainResults lock.
    locked AS MATERIALIZED (
      SELECT i.* FROM commands c JOIN input i ON c.command_id = i.id
       WHERE c.endpoint_id = ${row.endpointId} AND c.command_type = ${row.commandType}
       ORDER BY c.command_id
         FOR UPDATE OF c),
    marked AS (
      UPDATE commands c
         SET push_count = c.push_count + i.pushed,
             last_pushed_at = CASE WHEN i.pushed = 1 THEN now() ELSE c.last_pushed_at END,
             next_push_at = CASE WHEN c.push_once THEN NULL
                                 ELSE LEAST(c.expires_at, now() + make_interval(secs => i.delay_ms / 1000.0)) END
        FROM locked i
       -- Counted even if the result beat this UPDATE: the push did happen.
       WHERE c.endpoint_id = ${row.endpointId} AND c.command_type = ${row.commandType}
         AND c.command_id = i.id
      RETURNING 1)
    -- The sub-select makes the UPDATE finish (its command locks taken)
    -- before the outbox row is touched: the same order as the re-push
    -- scheduler (commands, then outbox). Left to itself Postgres may delete
    -- first, and the two deadlocked under load.
    DELETE FROM outbox
     WHERE id = ${row.id}::bigint AND generation = ${row.generation} AND (SELECT count(*) FROM marked) >= 0
    RETURNING (SELECT count(*) FROM marked) AS marked`;
  return finishRow(sql, row, deleted.length > 0);
}

/**
 * The endpoint is offline or does not observe the type: no push now, and no
 * re-push planned either (they wait for a 9/ELCE connect or a poll). Deletes
 * the row unless a request was coalesced into it meanwhile.
 */
export async function skipPush(sql: Sql, row: OutboxRow): Promise<boolean> {
  const deleted = await sql`
    WITH parked AS (
      UPDATE commands SET next_push_at = NULL
       WHERE endpoint_id = ${row.endpointId} AND command_type = ${row.commandType}
         AND status = 'PENDING' AND next_push_at IS NOT NULL
      RETURNING 1)
    -- Commands first, then the outbox row (see completePush).
    DELETE FROM outbox
     WHERE id = ${row.id}::bigint AND generation = ${row.generation} AND (SELECT count(*) FROM parked) >= 0
    RETURNING (SELECT count(*) FROM parked) AS parked`;
  return finishRow(sql, row, deleted.length > 0);
}

/** Nothing is outstanding for the row's (endpoint, type): drop the row (same generation rule). */
export async function dropEmptyPush(sql: Sql, row: OutboxRow): Promise<boolean> {
  const deleted = await sql`DELETE FROM outbox WHERE id = ${row.id}::bigint AND generation = ${row.generation} RETURNING 1`;
  return finishRow(sql, row, deleted.length > 0);
}

// A request coalesced into the row while it was processed (its generation
// moved): give the claim back, due now, so the new request is served.
async function finishRow(sql: Sql, row: OutboxRow, deleted: boolean): Promise<boolean> {
  if (!deleted) await sql`UPDATE outbox SET claimed_until = NULL, available_at = now() WHERE id = ${row.id}::bigint`;
  return deleted;
}

/**
 * The re-push scheduler's one statement: a push row for every (endpoint,
 * type) with a re-push due. An existing row is left as it is (DO NOTHING, no
 * generation bump): the push it leads to carries every outstanding command,
 * the due ones included, and a bump while it is being published would only
 * cause a second, redundant push. Safe in several replicas (unique index).
 * Returns how many rows were written.
 *
 * The due commands are row-locked (SKIP LOCKED): a push being completed right
 * now holds them and is skipped, and one that committed after this
 * statement's snapshot is re-checked on its new next_push_at. Without the
 * lock, the snapshot still saw them due while the conflict check already saw
 * that push's row deleted, so a second push of the same round followed at
 * once (test/faults/multi-process.test.ts; two bridges under load).
 */
export async function enqueueDueRepushes(sql: Sql, limit = 10_000): Promise<number> {
  const rows = await sql`
    INSERT INTO outbox (kind, endpoint_id, command_type)
    SELECT DISTINCT 'push', endpoint_id, command_type FROM (
      SELECT endpoint_id, command_type FROM commands
       WHERE status = 'PENDING' AND next_push_at <= now() AND expires_at > now() AND NOT push_once
       LIMIT ${limit}
       FOR UPDATE SKIP LOCKED) due
    ON CONFLICT (endpoint_id, command_type) WHERE kind = 'push' DO NOTHING
    RETURNING 1`;
  return rows.length;
}

/**
 * 9/ELCE connected: a push row for every (endpoint, type) of these endpoints
 * with outstanding commands, in one statement. Coalesces into pending rows
 * and bumps their generation, so a bridge that is handling one right now
 * (it may have read the endpoint as offline) handles it again. Returns how
 * many rows were written or bumped: NOTIFY the outbox after commit when > 0.
 */
export async function enqueuePushesForEndpoints(sql: Queryable, endpointIds: readonly string[]): Promise<number> {
  if (endpointIds.length === 0) return 0;
  const rows = await sql`
    INSERT INTO outbox (kind, endpoint_id, command_type)
    SELECT DISTINCT 'push', endpoint_id, command_type FROM commands
     WHERE endpoint_id = ANY(${endpointIds as string[]}::text[])
       AND status = 'PENDING' AND expires_at > now() AND NOT push_once
     -- One lock order for every caller: two connects of overlapping endpoint
     -- sets cannot deadlock on each other's rows.
     ORDER BY endpoint_id, command_type
    ON CONFLICT (endpoint_id, command_type) WHERE kind = 'push' DO UPDATE
      SET generation = outbox.generation + 1, available_at = LEAST(outbox.available_at, now())
    RETURNING 1`;
  return rows.length;
}

/** What the drainer needs to push one claimed row: the endpoint's state and the commands to send. */
export interface PushPlan {
  appVersionName: string | null;
  online: boolean | null;
  /** The effective observe flag for the row's type: type-specific, else '*', else true. */
  observes: boolean;
  /** As readPushCommands returns them, oldest first. */
  commands: PushCommand[];
}

/** A claimed outbox row and, for a push row, what to push. */
export interface ClaimedRow {
  row: OutboxRow;
  /** Push rows only. */
  plan?: PushPlan;
}

/**
 * claimDueOutbox, readEndpointState and readPushCommands for a whole batch
 * in ONE statement: the drainer's only round trip before it publishes.
 *
 * The plan is read with the statement's snapshot, taken before the claim
 * locked its rows. A create that committed in between (it bumped the row's
 * generation) is then locked and returned by the claim, but its command is
 * not in the plan. So the generation returned is the one the snapshot saw
 * (the sub-select below reads the row with the snapshot, not the locked
 * version): the completion then finds the generation moved, keeps the row
 * and releases it, and the next pass pushes the new command.
 */
export async function claimDueBatch(sql: Sql, limit: number, leaseMs: number): Promise<ClaimedRow[]> {
  const rows = await sql<(OutboxRow & Omit<PushPlan, 'commands'> & { commands: PushCommand[] | null })[]>`
    WITH due AS (
       SELECT id FROM outbox
        WHERE kind IN ('push', 'cip_result') AND available_at <= now()
          AND (claimed_until IS NULL OR claimed_until <= now())
        ORDER BY available_at, id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED),
     claimed AS (
       UPDATE outbox o
          SET claimed_until = now() + make_interval(secs => ${leaseMs}::int / 1000.0), attempts = o.attempts + 1
         FROM due
        WHERE o.id = due.id
       RETURNING o.id, o.kind, o.endpoint_id, o.command_type, o.command_id, o.include_ids, o.message, o.attempts, o.created_at,
                 (SELECT seen.generation FROM outbox seen WHERE seen.id = o.id) AS seen_generation)
    SELECT c.id::text AS id, c.kind, c.endpoint_id AS "endpointId", c.command_type AS "commandType",
           c.command_id AS "commandId", c.include_ids AS "includeIds", c.message, c.seen_generation AS generation,
           c.attempts, c.created_at AS "createdAt",
           s.app_version_name AS "appVersionName", s.online,
           ${sql.unsafe(observesText('c'))} AS observes,
           CASE WHEN c.kind = 'push' THEN COALESCE((
             SELECT json_agg(${sql.unsafe(PUSH_COMMAND_JSON)} ORDER BY x.created_at, x.command_id)
               FROM commands x
              WHERE ${sql.unsafe(outstandingText('c'))}), '[]'::json) END AS commands
      FROM claimed c
      LEFT JOIN endpoint_state s ON s.endpoint_id = c.endpoint_id
     ORDER BY c.id`;
  return rows.map(({ appVersionName, online, observes, commands, ...row }) =>
    row.kind === 'push' ? { row, plan: { appVersionName, online, observes, commands: toPushCommands(commands) } } : { row },
  );
}

const toPushCommands = (commands: PushCommand[] | null): PushCommand[] =>
  (commands ?? []).map((c) => ({ ...c, payload: c.payload ?? null }));

// The pieces of a push plan that claimDueBatch and the claiming create
// (claimedPushSql) share: one definition of what a push carries.

/** The effective observe flag of (`row`.endpoint_id, `row`.command_type): type-specific, else '*', else true. */
function observesText(row: string): string {
  return `COALESCE(
             (SELECT observe FROM endpoint_observe e WHERE e.endpoint_id = ${row}.endpoint_id AND e.command_type = ${row}.command_type),
             (SELECT observe FROM endpoint_observe e WHERE e.endpoint_id = ${row}.endpoint_id AND e.command_type = '*'),
             true)`;
}

/** A PushCommand as JSON, from commands row `x`. */
const PUSH_COMMAND_JSON = `json_build_object(
                      'commandId', x.command_id, 'payload', x.request_payload, 'pushOnce', x.push_once,
                      'pushCount', x.push_count, 'repushDue', COALESCE(x.next_push_at <= now(), false),
                      'traceparent', x.traceparent)`;

/** Whether commands row `x` is outstanding for outbox row `row` (readPushCommands's rule). */
function outstandingText(row: string): string {
  return `x.endpoint_id = ${row}.endpoint_id AND x.command_type = ${row}.command_type AND x.status = 'PENDING'
                AND ((NOT x.push_once AND x.expires_at > now())
                     OR (x.push_once AND x.push_count = 0 AND x.command_id = ANY(${row}.include_ids)))`;
}

/**
 * For createCommand with claimPush: the columns its push CTE returns, and,
 * for each row `i` of its `ins` CTE, the push row it inserted and claimed
 * with its plan as one JSON value ("claimedPush"), or NULL when the create
 * coalesced into an existing row or claimed nothing. The statement's
 * snapshot does not see the commands it inserts, so each create's own (never
 * pushed yet, the newest of its endpoint and type: a statement creates one
 * per endpoint and type) is appended to the outstanding ones it does see.
 */
export const PUSH_RETURNING = `id, kind, endpoint_id, command_type, command_id, include_ids, generation, attempts, created_at, (xmax = 0) AS inserted`;

const CLAIMED_PUSH = `(SELECT json_build_object(
            'id', p.id::text, 'kind', p.kind, 'endpointId', p.endpoint_id, 'commandType', p.command_type,
            'commandId', p.command_id, 'includeIds', p.include_ids, 'message', NULL, 'generation', p.generation,
            'attempts', p.attempts, 'createdAt', p.created_at,
            'appVersionName', s.app_version_name, 'online', s.online,
            'observes', ${observesText('p')},
            'commands', (SELECT COALESCE(json_agg(${PUSH_COMMAND_JSON} ORDER BY x.created_at, x.command_id), '[]'::json)
                           FROM commands x WHERE ${outstandingText('p')})::jsonb
                        || jsonb_build_array(jsonb_build_object(
                             'commandId', i."commandId", 'payload', i."requestPayload", 'pushOnce', i."pushOnce",
                             'pushCount', 0, 'repushDue', false, 'traceparent', i.traceparent)))
          FROM push p LEFT JOIN endpoint_state s ON s.endpoint_id = p.endpoint_id
         WHERE p.inserted AND p.claimed AND p.endpoint_id = i."endpointId" AND p.command_type = i."commandType") AS "claimedPush"`;

export function claimedPushSql(sql: Queryable) {
  return sql.unsafe(CLAIMED_PUSH);
}

/** The claimedPush JSON of a claiming create as the drainer's ClaimedRow. */
export function toClaimedRow(json: unknown): ClaimedRow {
  const { appVersionName, online, observes, commands, ...row } = json as OutboxRow &
    Omit<PushPlan, 'commands'> & { commands: PushCommand[] | null; createdAt: string };
  return {
    row: { ...row, createdAt: new Date(row.createdAt) },
    plan: { appVersionName, online, observes, commands: toPushCommands(commands) },
  };
}

/** One published row of a batch and what it pushed. */
export interface PublishedPush {
  row: OutboxRow;
  pushed: readonly PushedCommand[];
}

/**
 * completePush for every row of a flushed batch in ONE statement (commands
 * counted and planned, then each row deleted if its generation did not
 * move). Rows whose generation moved are released in a second statement
 * that runs only when there are some: due at once when one request joined
 * the row while its push was in flight (a caller's next command), held for
 * `burstHoldMs` when two or more did. That is a burst to one endpoint: the
 * hold lets the next push carry the rest of it at once instead of chasing
 * it with a push per pass (creates bump available_at, never claimed_until,
 * so the hold stands while the burst goes on). Lock order as completePush:
 * commands first, then outbox.
 */
export async function completePushes(sql: Sql, published: readonly PublishedPush[], burstHoldMs: number): Promise<CompletedPushes> {
  if (published.length === 0) return { deleted: new Set(), released: 0, held: 0 };
  const items = published.flatMap(({ row, pushed }) => pushed.map((p) => ({ row, p })));
  const deleted = await sql<{ id: string }[]>`
    WITH input AS (
      SELECT * FROM unnest(${items.map((i) => i.row.endpointId)}::text[], ${items.map((i) => i.row.commandType)}::text[],
                           ${items.map((i) => i.p.commandId)}::int[], ${items.map((i) => i.p.repushDelayMs)}::int[],
                           ${items.map((i) => (i.p.pushed ? 1 : 0))}::int[]) AS t(endpoint_id, command_type, id, delay_ms, pushed)),
    -- Locked in key order first, as recordPlainResults locks: a result
    -- statement spanning these commands waits instead of deadlocking.
    locked AS MATERIALIZED (
      SELECT i.* FROM commands c
        JOIN input i ON c.endpoint_id = i.endpoint_id AND c.command_type = i.command_type AND c.command_id = i.id
       ORDER BY c.endpoint_id, c.command_type, c.command_id
         FOR UPDATE OF c),
    marked AS (
      UPDATE commands c
         SET push_count = c.push_count + i.pushed,
             last_pushed_at = CASE WHEN i.pushed = 1 THEN now() ELSE c.last_pushed_at END,
             next_push_at = CASE WHEN c.push_once THEN NULL
                                 ELSE LEAST(c.expires_at, now() + make_interval(secs => i.delay_ms / 1000.0)) END
        FROM locked i
       WHERE c.endpoint_id = i.endpoint_id AND c.command_type = i.command_type AND c.command_id = i.id
      RETURNING 1)
    DELETE FROM outbox o
     USING unnest(${published.map((p) => p.row.id)}::bigint[], ${published.map((p) => p.row.generation)}::int[]) AS r(id, generation)
     WHERE o.id = r.id AND o.generation = r.generation AND (SELECT count(*) FROM marked) >= 0
    RETURNING o.id::text AS id`;
  const done = new Set(deleted.map((d) => d.id));
  const moved = published.filter((p) => !done.has(p.row.id)).map((p) => p.row);
  if (moved.length === 0) return { deleted: done, released: 0, held: 0 };
  const released = await sql<{ held: boolean }[]>`
    UPDATE outbox o
       SET claimed_until = CASE WHEN o.generation - r.generation >= 2
                                THEN now() + make_interval(secs => ${burstHoldMs}::int / 1000.0) END,
           available_at = now()
      FROM unnest(${moved.map((r) => r.id)}::bigint[], ${moved.map((r) => r.generation)}::int[]) AS r(id, generation)
     WHERE o.id = r.id
    RETURNING (o.generation - r.generation >= 2 AND ${burstHoldMs}::int > 0) AS held`;
  const held = released.filter((r) => r.held).length;
  return { deleted: done, released: released.length - held, held };
}

/** What completePushes did with a batch's rows. */
export interface CompletedPushes {
  /** Ids of rows deleted: nothing joined them while their push was in flight. */
  deleted: Set<string>;
  /** Rows released, due at once. */
  released: number;
  /** Rows held for the burst window before they are due again. */
  held: number;
}
