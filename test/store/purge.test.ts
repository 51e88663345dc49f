/**
 * History retention (CEX_HISTORY_RETENTION_DAYS): finished commands (EXECUTED
 * or EXPIRED) last changed longer ago than the retention are deleted, in
 * batches; PENDING commands are kept however old, and so is everything
 * changed within the retention. Ids are never reused after a purge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommand, purgeHistory } from '../../shared/store/index.js';
import { bridgeRuntime, runBridge, startFakeFunctions, uniqueNames, FAST, type FakeFunctions } from '../bridge/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { waitUntil } from '../helpers/wait.js';

let db: TestDatabase;
let fake: FakeFunctions;
beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
});
afterAll(async () => {
  await fake?.close();
  await db?.drop();
});

/** `count` commands of one kind, one per endpoint `${prefix}-n`, last changed `ageDays` ago. */
async function seed(prefix: string, count: number, status: 'PENDING' | 'EXECUTED' | 'EXPIRED', ageDays: number): Promise<void> {
  await db.sql`
    INSERT INTO commands (endpoint_id, command_type, command_id, tenant_id, status, status_code, created_at, updated_at, expires_at, ttl_millis)
    SELECT ${prefix} || '-' || n, 'reboot', 1, 'kaa', ${status}, CASE WHEN ${status} = 'EXECUTED' THEN 200 END,
           now() - make_interval(days => ${ageDays}) - interval '1 hour', now() - make_interval(days => ${ageDays}),
           now() - make_interval(days => ${ageDays}) + interval '1 hour', 3600000
      FROM generate_series(1, ${count}) AS n`;
  await db.sql`
    INSERT INTO command_id_counters (endpoint_id, command_type, last_id)
    SELECT ${prefix} || '-' || n, 'reboot', 1 FROM generate_series(1, ${count}) AS n`;
}

const count = async (prefix: string) =>
  (await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE endpoint_id LIKE ${prefix + '-%'}`)[0]!.n;

describe('history purge', () => {
  it('deletes finished commands past the retention in batches, and keeps pending and recent ones', async () => {
    await seed('old-executed', 7_000, 'EXECUTED', 8);
    await seed('old-expired', 5_500, 'EXPIRED', 30);
    await seed('old-pending', 300, 'PENDING', 30);
    await seed('recent-executed', 400, 'EXECUTED', 6);
    await seed('recent-expired', 400, 'EXPIRED', 0);

    // 12,500 due rows, 5,000 a statement: full, full, the rest, nothing.
    const batches: number[] = [];
    for (let deleted = -1; deleted !== 0;) batches.push((deleted = await purgeHistory(db.sql, 7, 5_000)));
    expect(batches).toEqual([5_000, 5_000, 2_500, 0]);

    expect(await count('old-executed')).toBe(0);
    expect(await count('old-expired')).toBe(0);
    expect(await count('old-pending')).toBe(300);
    expect(await count('recent-executed')).toBe(400);
    expect(await count('recent-expired')).toBe(400);
    // A shorter retention reaches the recent ones too, but never a PENDING one.
    expect(await purgeHistory(db.sql, 1, 5_000)).toBe(400);
    expect(await count('recent-executed')).toBe(0);
    expect(await count('old-pending')).toBe(300);
  });

  it('never reuses the id of a purged command', async () => {
    await seed('reuse', 1, 'EXECUTED', 10);
    expect(await purgeHistory(db.sql, 7, 5_000)).toBeGreaterThanOrEqual(1);
    expect(await count('reuse')).toBe(0);
    const { command } = await createCommand(db.sql, {
      tenantId: 'kaa',
      endpointId: 'reuse-1',
      commandType: 'reboot',
      payload: null,
      ttlMillis: 60_000,
      awaitTimeoutSeconds: 0,
      origin: 'rest',
    });
    expect(command.commandId).toBe(2);
  });

  it('runs in the bridge with the configured retention', async () => {
    await seed('bridge-old', 2_000, 'EXPIRED', 4);
    await seed('bridge-recent', 50, 'EXECUTED', 2);
    // The bridge's maintenance purges once at start (then every purgeIntervalMs).
    const running = await runBridge(bridgeRuntime(db.url, uniqueNames(), fake.url, { CEX_HISTORY_RETENTION_DAYS: '3' }), FAST);
    try {
      await waitUntil(async () => (await count('bridge-old')) === 0, 'the bridge to purge the old commands');
      expect(await count('bridge-recent')).toBe(50);
    } finally {
      await running.stop();
    }
  });
});
