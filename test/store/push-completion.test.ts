import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { claimDueBatch, completePushes, createCommand, type ClaimedRow, type NewCommand } from '../../shared/store/index.js';

// completePushes after a push was flushed: the row is deleted when nothing
// joined it meanwhile, released due at once when one request joined (a
// caller's next command must not wait), and held for the burst window when
// two or more did (a burst: the next push carries the rest at once).

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const command = (): NewCommand => ({
  tenantId: 'kaa',
  endpointId: 'e-1',
  commandType: 'reboot',
  payload: null,
  ttlMillis: 60_000,
  awaitTimeoutSeconds: 0,
  origin: 'rest',
});

const HOLD_MS = 5_000;

/** Claims the push row, lets `joined` commands join it, completes the push the claim planned. */
async function pushWhile(joined: number) {
  await createCommand(db.sql, command());
  const [claimed] = (await claimDueBatch(db.sql, 10, 60_000)) as [ClaimedRow];
  for (let i = 0; i < joined; i++) await createCommand(db.sql, command());
  const outcome = await completePushes(
    db.sql,
    [{ row: claimed.row, pushed: claimed.plan!.commands.map((c) => ({ commandId: c.commandId, pushed: true, repushDelayMs: 60_000 })) }],
    HOLD_MS,
  );
  const rows = await db.sql<{ heldMs: number | null; due: boolean }[]>`
    SELECT (extract(epoch FROM claimed_until - now()) * 1000)::int AS "heldMs", available_at <= now() AS due FROM outbox`;
  const next = await claimDueBatch(db.sql, 10, 60_000);
  return { outcome, rows, next };
}

describe('completePushes', () => {
  it('deletes the row when nothing joined it', async () => {
    const { outcome, rows, next } = await pushWhile(0);
    expect(outcome).toMatchObject({ released: 0, held: 0 });
    expect(outcome.deleted.size).toBe(1);
    expect(rows).toEqual([]);
    expect(next).toEqual([]);
  });

  it('releases the row at once when one request joined it', async () => {
    const { outcome, rows, next } = await pushWhile(1);
    expect(outcome).toMatchObject({ released: 1, held: 0 });
    expect(rows).toEqual([{ heldMs: null, due: true }]);
    expect(next.map((c) => c.plan!.commands.map((x) => x.commandId))).toEqual([[1, 2]]); // a push carries every outstanding command
  });

  it('holds the row for the burst window when two or more joined it, and a further create does not end the hold', async () => {
    const { outcome, rows, next } = await pushWhile(3);
    expect(outcome).toMatchObject({ released: 0, held: 1 });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.heldMs).toBeGreaterThan(HOLD_MS - 2_000);
    expect(rows[0]!.heldMs).toBeLessThanOrEqual(HOLD_MS);
    expect(next).toEqual([]);
    await createCommand(db.sql, command());
    expect(await claimDueBatch(db.sql, 10, 60_000)).toEqual([]);
    await db.sql`UPDATE outbox SET claimed_until = now()`;
    const after = await claimDueBatch(db.sql, 10, 60_000);
    expect(after.map((c) => c.plan!.commands.map((x) => x.commandId))).toEqual([[1, 2, 3, 4, 5]]);
  });
});
