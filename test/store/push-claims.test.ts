import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  claimDueBatch,
  completePushes,
  createCommand,
  noteAppVersion,
  setObserve,
  setOnline,
  type ClaimedRow,
  type NewCommand,
} from '../../shared/store/index.js';

// createCommand with claimPush (a dev host's create claims the push row it
// writes for its own drainer) reads the plan claimDueBatch would have read.
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

describe('createCommand with claimPush', () => {
  const claimedPlan = async (over: Partial<NewCommand> = {}) => {
    const outcome = await createCommand(db.sql, { ...command(), ...over }, { leaseMs: 60_000 });
    return outcome;
  };

  it('claims the push row it inserts, with the plan claimDueBatch reads, and no drainer can claim it', async () => {
    await noteAppVersion(db.sql, 'e-1', 'app-v7');
    await setOnline(db.sql, new Map([['e-1', 'app-v7']]), true);
    await createCommand(db.sql, command()); // pushed earlier, still PENDING: carried again
    const [earlier] = (await claimDueBatch(db.sql, 10, 60_000)) as [ClaimedRow];
    await completePushes(db.sql, [{ row: earlier.row, pushed: [{ commandId: 1, pushed: true, repushDelayMs: 60_000 }] }], HOLD_MS);

    const outcome = await claimedPlan({ payload: { n: 2 } });
    expect(outcome.command.commandId).toBe(2);
    expect(outcome.claimed).toBeDefined();
    const { row, plan } = outcome.claimed!;
    expect(row).toMatchObject({
      kind: 'push',
      endpointId: 'e-1',
      commandType: 'reboot',
      commandId: null,
      includeIds: [],
      attempts: 1,
      message: null,
    });
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(plan).toEqual({
      appVersionName: 'app-v7',
      online: true,
      observes: true,
      commands: [
        { commandId: 1, payload: null, pushOnce: false, pushCount: 1, repushDue: false, traceparent: null },
        { commandId: 2, payload: { n: 2 }, pushOnce: false, pushCount: 0, repushDue: false, traceparent: null },
      ],
    });
    expect(await claimDueBatch(db.sql, 10, 60_000)).toEqual([]);
    // The claim is the one the drainer's completion expects: same row, same generation.
    const done = await completePushes(
      db.sql,
      [{ row, pushed: plan!.commands.map((c) => ({ ...c, pushed: true, repushDelayMs: 60_000 })) }],
      HOLD_MS,
    );
    expect(done.deleted).toEqual(new Set([row.id]));
  });

  it('reads the endpoint as offline or not observing, as the claim would', async () => {
    await setOnline(db.sql, new Map([['e-1', 'app-v1']]), false);
    await setObserve(db.sql, 'e-1', 'reboot', false);
    const { claimed } = await claimedPlan();
    expect(claimed!.plan).toMatchObject({ online: false, observes: false });
  });

  it('carries a push-once command (TTL 0) in its row, and claims nothing when the row exists: the create coalesced into it', async () => {
    const first = await claimedPlan({ ttlMillis: 0 });
    expect(first.claimed!.row.includeIds).toEqual([1]);
    expect(first.claimed!.plan!.commands).toEqual([
      { commandId: 1, payload: null, pushOnce: true, pushCount: 0, repushDue: false, traceparent: null },
    ]);
    const second = await claimedPlan();
    expect(second.created).toBe(true);
    expect(second.claimed).toBeUndefined();
    const [row] = await db.sql<{ generation: number; attempts: number; includeIds: number[] }[]>`
      SELECT generation, attempts, include_ids AS "includeIds" FROM outbox`;
    expect(row).toEqual({ generation: first.claimed!.row.generation + 1, attempts: 1, includeIds: [1] });
  });

  it("carries the new command's traceparent in the plan (tracing on: its push joins the invoke's trace)", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { claimed } = await claimedPlan({ traceparent });
    expect(claimed!.plan!.commands).toEqual([
      { commandId: 1, payload: null, pushOnce: false, pushCount: 0, repushDue: false, traceparent },
    ]);
  });

  it('claims nothing without claimPush', async () => {
    const outcome = await createCommand(db.sql, command());
    expect(outcome.claimed).toBeUndefined();
    expect(await claimDueBatch(db.sql, 10, 60_000)).toHaveLength(1);
  });
});
