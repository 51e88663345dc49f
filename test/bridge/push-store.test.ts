import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withTransaction } from '../../shared/db/index.js';
import {
  claimDueOutbox,
  completePush,
  createCommand,
  enqueueDueRepushes,
  enqueuePush,
  enqueuePushesForEndpoints,
  readPushCommands,
  releaseOutbox,
  skipPush,
} from '../../shared/store/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { restCommand } from './helpers.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const pushRows = () =>
  db.sql<{ endpointId: string; commandType: string; generation: number; claimed: boolean }[]>`
    SELECT endpoint_id AS "endpointId", command_type AS "commandType", generation, claimed_until IS NOT NULL AS claimed
      FROM outbox WHERE kind = 'push' ORDER BY endpoint_id, command_type`;

describe('enqueuePushesForEndpoints (9/ELCE connected)', () => {
  it('writes one push row per (endpoint, type) with outstanding commands, in one statement', async () => {
    await createCommand(db.sql, restCommand('e-1', 'a'));
    await createCommand(db.sql, restCommand('e-1', 'a'));
    await createCommand(db.sql, restCommand('e-1', 'b'));
    await createCommand(db.sql, restCommand('e-2', 'a'));
    await createCommand(db.sql, restCommand('e-3', 'flash', { ttlMillis: 0 }));
    const late = await createCommand(db.sql, restCommand('e-4', 'late', { ttlMillis: 1 }));
    await createCommand(db.sql, restCommand('e-5', 'other'));
    await db.sql`DELETE FROM outbox`;
    await untilDatabaseTimePasses(db.sql, late.command.expiresAt);

    // Push-once and expired commands are not outstanding; e-5 was not named.
    expect(await enqueuePushesForEndpoints(db.sql, ['e-1', 'e-2', 'e-3', 'e-4', 'unknown'])).toBe(3);
    expect((await pushRows()).map((r) => `${r.endpointId}/${r.commandType}/${r.generation}`)).toEqual(['e-1/a/1', 'e-1/b/1', 'e-2/a/1']);
    // Again: coalesces into the pending rows and bumps their generation.
    expect(await enqueuePushesForEndpoints(db.sql, ['e-1'])).toBe(2);
    expect((await pushRows()).map((r) => r.generation)).toEqual([2, 2, 1]);
    expect(await enqueuePushesForEndpoints(db.sql, [])).toBe(0);
  });

  it('works inside a transaction and makes a backed-off row due at once', async () => {
    await createCommand(db.sql, restCommand('e-1', 'a'));
    const [row] = await claimDueOutbox(db.sql, 10, 60_000);
    await releaseOutbox(db.sql, row!.id, 60_000, 'boom');
    expect(await claimDueOutbox(db.sql, 10, 60_000)).toHaveLength(0);
    await withTransaction(db.sql, (tx) => enqueuePushesForEndpoints(tx, ['e-1']));
    const [again] = await claimDueOutbox(db.sql, 10, 60_000);
    expect(again).toMatchObject({ id: row!.id, generation: 2, attempts: 2 });
  });
});

describe('claimDueOutbox', () => {
  it('hands each due row to one claimer, leaves callback rows alone, and re-offers a lapsed lease', async () => {
    for (let i = 0; i < 5; i++) await createCommand(db.sql, restCommand(`e-${i}`, 'a'));
    await db.sql`INSERT INTO outbox (kind, endpoint_id, command_type, command_id, message) VALUES ('callback', 'e-0', 'a', 1, '{}')`;
    // Leases of a minute: the claims below all fall inside them, however slow
    // the host (with 200 ms leases a busy host let one lapse between two
    // claims, and a row was rightly offered twice: seen).
    const [a, b] = await Promise.all([claimDueOutbox(db.sql, 3, 60_000), claimDueOutbox(db.sql, 3, 60_000)]);
    const claimed = [...a!, ...b!];
    expect(new Set(claimed.map((r) => r.id)).size).toBe(claimed.length);
    // Two claimers of 3 take all 5 (one may find fewer than it asked for while the other holds locks).
    const rest = await claimDueOutbox(db.sql, 10, 60_000);
    expect(new Set([...claimed, ...rest].map((r) => r.id)).size).toBe(5);
    expect([...claimed, ...rest].every((r) => r.kind === 'push')).toBe(true);
    expect(await claimDueOutbox(db.sql, 10, 60_000)).toHaveLength(0);
    // A short lease lapses and its row is offered again; the long ones are not.
    await createCommand(db.sql, restCommand('e-lapse', 'a'));
    const [short] = await claimDueOutbox(db.sql, 10, 200);
    expect(short!.endpointId).toBe('e-lapse');
    const [lease] = await db.sql<{ until: Date }[]>`SELECT claimed_until AS until FROM outbox WHERE id = ${short!.id}::bigint`;
    await untilDatabaseTimePasses(db.sql, lease!.until);
    expect((await claimDueOutbox(db.sql, 10, 200)).map((r) => r.id)).toEqual([short!.id]);
  });
});

describe('completePush and skipPush', () => {
  it('deletes the row only at the generation it read; a coalesced request makes it due again', async () => {
    await createCommand(db.sql, restCommand('e-1', 'a'));
    const [row] = await claimDueOutbox(db.sql, 10, 60_000);
    const commands = await readPushCommands(db.sql, 'e-1', 'a', row!.includeIds);
    await createCommand(db.sql, restCommand('e-1', 'a')); // coalesced: generation 2
    expect(
      await completePush(
        db.sql,
        row!,
        commands.map((c) => ({ commandId: c.commandId, pushed: true, repushDelayMs: 5_000 })),
      ),
    ).toBe(false);
    expect(await pushRows()).toEqual([{ endpointId: 'e-1', commandType: 'a', generation: 2, claimed: false }]);
    const [pushed] = await db.sql`SELECT push_count, next_push_at - last_pushed_at AS delay FROM commands WHERE command_id = 1`;
    expect(pushed!.push_count).toBe(1);

    const [next] = await claimDueOutbox(db.sql, 10, 60_000);
    const all = await readPushCommands(db.sql, 'e-1', 'a', next!.includeIds);
    expect(all.map((c) => [c.commandId, c.pushCount])).toEqual([
      [1, 1],
      [2, 0],
    ]);
    expect(
      await completePush(
        db.sql,
        next!,
        all.map((c) => ({ commandId: c.commandId, pushed: true, repushDelayMs: 5_000 })),
      ),
    ).toBe(true);
    expect(await pushRows()).toEqual([]);
  });

  it('caps the next push at expiry, plans none for push-once, and parks skipped commands', async () => {
    await createCommand(db.sql, restCommand('e-1', 'a', { ttlMillis: 1_000 }));
    await createCommand(db.sql, restCommand('e-1', 'a', { ttlMillis: 0 }));
    const [row] = await claimDueOutbox(db.sql, 10, 60_000);
    const commands = await readPushCommands(db.sql, 'e-1', 'a', row!.includeIds);
    expect(commands.map((c) => c.commandId)).toEqual([1, 2]);
    await completePush(
      db.sql,
      row!,
      commands.map((c) => ({ commandId: c.commandId, pushed: true, repushDelayMs: 60_000 })),
    );
    const rows = await db.sql`SELECT command_id, next_push_at = expires_at AS capped, next_push_at FROM commands ORDER BY command_id`;
    expect(rows.map((r) => [r.command_id, r.capped])).toEqual([
      [1, true],
      [2, null],
    ]);
    // The push-once command is never offered again.
    expect((await readPushCommands(db.sql, 'e-1', 'a', [2])).map((c) => c.commandId)).toEqual([1]);

    await withTransaction(db.sql, (tx) => enqueuePush(tx, 'e-1', 'a'));
    const [skipped] = await claimDueOutbox(db.sql, 10, 60_000);
    expect(await skipPush(db.sql, skipped!)).toBe(true);
    const [parked] = await db.sql`SELECT next_push_at FROM commands WHERE command_id = 1`;
    expect(parked!.next_push_at).toBeNull();
    expect(await pushRows()).toEqual([]);
  });
});

describe('enqueueDueRepushes', () => {
  it('writes a row per due (endpoint, type) and leaves a pending row untouched', async () => {
    await createCommand(db.sql, restCommand('e-1', 'a'));
    await createCommand(db.sql, restCommand('e-1', 'a'));
    await createCommand(db.sql, restCommand('e-2', 'a'));
    await createCommand(db.sql, restCommand('e-3', 'a'));
    await db.sql`DELETE FROM outbox`;
    await db.sql`UPDATE commands SET push_count = 1, next_push_at = now() - interval '1 second' WHERE endpoint_id IN ('e-1', 'e-2')`;
    await db.sql`UPDATE commands SET push_count = 1, next_push_at = now() + interval '1 hour' WHERE endpoint_id = 'e-3'`;
    expect(await enqueueDueRepushes(db.sql)).toBe(2);
    expect(await enqueueDueRepushes(db.sql)).toBe(0);
    expect((await pushRows()).map((r) => `${r.endpointId}/${r.generation}`)).toEqual(['e-1/1', 'e-2/1']);
  });
});
