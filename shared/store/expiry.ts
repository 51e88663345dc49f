import type { Sql } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import type { Command } from '../domain/index.js';
import { commandColumnsSql, toCommand } from './rows.js';
import { enqueueCallbacks, enqueueCipResult } from './outbox.js';

// A zero-TTL command nobody waits for expires at once, but only after its one
// push went out, or after this grace if the endpoint never got it (offline,
// not observing): "push once" must not lose the race against the sweeper.
const PUSH_ONCE_GRACE_SECONDS = 2;

export interface ExpiredCommands {
  expired: Command[];
  /** CIP callers owed their 408: NOTIFY the bridge after the commit. */
  outboxWritten: boolean;
  /** Callbacks owed: NOTIFY the callback deliverer after the commit. */
  callbacksWritten: boolean;
}

/**
 * Marks up to `limit` due PENDING commands EXPIRED, owes their CIP callers
 * a 408 and their callbackUrls the descriptor. Safe in several replicas at once: rows are claimed with SKIP LOCKED
 * and the status is re-checked, so each command expires exactly once.
 */
export async function expireDueCommands(sql: Sql, limit = 1000): Promise<ExpiredCommands> {
  return withTransaction(sql, async (tx) => {
    const rows = await tx<Record<string, unknown>[]>`
      WITH due AS (
         SELECT endpoint_id, command_type, command_id FROM commands
          WHERE status = 'PENDING' AND expires_at <= now()
            AND (NOT push_once OR push_count > 0
                 OR expires_at <= now() - make_interval(secs => ${PUSH_ONCE_GRACE_SECONDS}))
          ORDER BY expires_at
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
       UPDATE commands c
          SET status = 'EXPIRED', updated_at = now(), version = c.version + 1,
              status_xid = pg_current_xact_id(), next_push_at = NULL
         FROM due
        WHERE c.endpoint_id = due.endpoint_id AND c.command_type = due.command_type
          AND c.command_id = due.command_id AND c.status = 'PENDING'
       RETURNING ${commandColumnsSql(tx, 'c')}`;
    const expired = rows.map(toCommand);
    // Callbacks carry the EXPIRED descriptor itself (statusCode null).
    const callbacksWritten = await enqueueCallbacks(tx, expired);
    let outboxWritten = false;
    for (const command of expired) {
      if (!command.cipReplySubject) continue;
      await enqueueCipResult(tx, {
        ...command,
        statusCode: 408,
        reasonPhrase: `command expired at ${command.expiresAt.toISOString()} without a result`,
        responsePayload: null,
      });
      outboxWritten = true;
    }
    return { expired, outboxWritten, callbacksWritten };
  });
}

/**
 * Deletes finished commands last updated more than `retentionDays` ago, in
 * batches of `batch` rows (so a purge never holds long locks). Returns the count.
 */
export async function purgeHistory(sql: Sql, retentionDays: number, batch = 5000): Promise<number> {
  const rows = await sql`
    WITH old AS (
      SELECT endpoint_id, command_type, command_id FROM commands
       WHERE status <> 'PENDING' AND updated_at < now() - make_interval(days => ${retentionDays})
       ORDER BY updated_at
       LIMIT ${batch}
       FOR UPDATE SKIP LOCKED)
    DELETE FROM commands c USING old
     WHERE c.endpoint_id = old.endpoint_id AND c.command_type = old.command_type AND c.command_id = old.command_id
    RETURNING 1`;
  return rows.length;
}
