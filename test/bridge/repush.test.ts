import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { invokeCommand, recordEndpointResults } from '../../shared/commands/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniquePrefix } from '../helpers/nats.js';
import {
  bridgeRuntime,
  collectPushes,
  counterValue,
  restCommand,
  runBridge,
  startFakeFunctions,
  testConnection,
  uniqueNames,
  waitFor,
  type FakeFunctions,
  type Names,
  type RunningBridge,
} from './helpers.js';

// Re-push after 200 ms, doubling, capped at 800 ms: 0, 200, 600, 1400, 2200, ...
const ENV = { CEX_REPUSH_INITIAL_MS: '200', CEX_REPUSH_MAX_MS: '800' };

let db: TestDatabase;
let fake: FakeFunctions;
let names: Names;
let nc: NatsConnection;
let running: RunningBridge;
let seen: Awaited<ReturnType<typeof collectPushes>>;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  names = uniqueNames();
  nc = await testConnection();
  seen = await collectPushes(nc, names.kpc);
  running = await runBridge(bridgeRuntime(db.url, names, fake.url, ENV));
});
afterAll(async () => {
  await running?.stop();
  await nc?.close();
  await fake?.close();
  await db?.drop();
});

/** The bridge's own publish times (ExtensionData timestamp), free of this process's receive delays. */
const publishedAt = (pushes: { message: Record<string, unknown> }[]) => pushes.map((p) => Number(p.message.timestamp));
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

/** The planned wait after the latest push, from the row the push completed (one statement: exact). */
async function plannedDelayMs(ep: string, commandId = 1): Promise<{ pushCount: number; delayMs: number | null }> {
  const [row] = await db.sql<{ pushCount: number; delayMs: number | null }[]>`
    SELECT push_count AS "pushCount", (extract(epoch FROM next_push_at - last_pushed_at) * 1000)::int AS "delayMs"
      FROM commands WHERE endpoint_id = ${ep} AND command_id = ${commandId}`;
  return row!;
}

// Re-pushes are planned, never measured: each push is published at or after
// the time the previous one planned (lower bounds on the bridge's own
// publish timestamps hold whatever the load), and the plan itself is read
// from the database. Nothing here asserts how fast anything happened.
describe('re-push', () => {
  it('re-pushes with doubling backoff, capped, and stops once the result is in', async () => {
    const ep = uniquePrefix('ep');
    const repushes = await counterValue(running.rt.metrics.pushes, { reason: 'repush' });
    await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 600_000 }));
    await waitFor(() => seen.of(ep).length >= 5, 30_000, 'five pushes');
    const [first, second, third, fourth] = gaps(publishedAt(seen.of(ep)));
    // 200, 400, 800 (doubling), then 800 (the cap).
    expect(first).toBeGreaterThanOrEqual(200);
    expect(second).toBeGreaterThanOrEqual(400);
    expect(third).toBeGreaterThanOrEqual(800);
    expect(fourth).toBeGreaterThanOrEqual(800);
    // The cap: after the 5th push and later the plan stays at 800 ms (uncapped it would be 3,200 and more).
    const plan = await plannedDelayMs(ep);
    expect(plan.pushCount).toBeGreaterThanOrEqual(5);
    expect(plan.delayMs).toBe(800);
    for (const push of seen.of(ep)) expect(push.ids).toEqual([1]);
    // The metric counts after the database write that follows the publish.
    await waitFor(
      async () => (await counterValue(running.rt.metrics.pushes, { reason: 'repush' })) >= repushes + 4,
      15_000,
      'repush metric',
    );

    await recordEndpointResults(running.rt, ep, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    const count = seen.of(ep).length;
    const [row] = await db.sql`SELECT next_push_at FROM commands WHERE endpoint_id = ${ep} AND command_id = 1`;
    expect(row).toMatchObject({ next_push_at: null });
    // A second command of the type: its first push and three re-pushes
    // (200 + 400 + 800 ms apart, by their publish times) span more than
    // command 1's next planned round (at most 800 ms away), and every push
    // carries every outstanding command of the type. So had command 1 still
    // been re-pushed, it would be in them.
    await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 600_000 }));
    await waitFor(() => seen.of(ep).filter((p) => p.ids.includes(2)).length >= 4, 30_000, 'four pushes of command 2');
    // At most one push of command 1 was already on its way when the result landed.
    const later = seen.of(ep).slice(count);
    expect(later.filter((p) => p.ids.includes(1)).length).toBeLessThanOrEqual(1);
    expect(later.filter((p) => p.ids.includes(2)).every((p) => p.ids.join() === '2')).toBe(true);
    const [done] = await db.sql`SELECT push_count, next_push_at FROM commands WHERE endpoint_id = ${ep} AND command_id = 1`;
    expect(done).toMatchObject({ push_count: seen.of(ep).filter((p) => p.ids.includes(1)).length, next_push_at: null });
  });

  it('stops re-pushing at expiry, and never pushes an expired command', async () => {
    const ep = uniquePrefix('ep');
    await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 2_000 }));
    // The sweeper marks it EXPIRED once its TTL is over: the positive signal.
    await waitFor(
      async () => (await db.sql`SELECT 1 FROM commands WHERE endpoint_id = ${ep} AND status = 'EXPIRED'`).length === 1,
      30_000,
      'EXPIRED',
    );
    const [expired] = await db.sql<{ pushCount: number; nextPushAt: Date | null }[]>`
      SELECT push_count AS "pushCount", next_push_at AS "nextPushAt" FROM commands WHERE endpoint_id = ${ep}`;
    // Pushed, and re-pushed at least once while it was live (200 ms, then 400 ms, ...).
    expect(expired!.pushCount).toBeGreaterThanOrEqual(2);
    expect(expired!.nextPushAt).toBeNull();
    // A new command of the type: its push leaves the expired one out, and so
    // does every push after it (checked once the new one was re-pushed too).
    await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 600_000 }));
    await waitFor(() => seen.of(ep).filter((p) => p.ids.includes(2)).length >= 2, 30_000, 'the push and a re-push of the new command');
    const withOne = seen.of(ep).filter((p) => p.ids.includes(1));
    expect(withOne).toHaveLength(expired!.pushCount);
    expect(
      seen
        .of(ep)
        .filter((p) => p.ids.includes(2))
        .every((p) => p.ids.join() === '2'),
    ).toBe(true);
  });

  it('pushes every command of the type in each round, each on its own schedule', async () => {
    const ep = uniquePrefix('ep');
    await invokeCommand(running.rt, restCommand(ep, 'reboot'));
    await waitFor(() => seen.of(ep).length >= 3, 30_000, 'three pushes of the first');
    await invokeCommand(running.rt, restCommand(ep, 'reboot'));
    await waitFor(() => seen.of(ep).some((p) => p.ids.length === 2), 30_000, 'a push of both');
    const before = seen.of(ep).length;
    await waitFor(() => seen.of(ep).length >= before + 2, 30_000, 'two more rounds');
    for (const p of seen.of(ep).slice(before - 1)) expect(p.ids).toEqual([1, 2]);
    // Each on its own schedule: the first is further along its backoff than the second.
    const [one, two] = [await plannedDelayMs(ep, 1), await plannedDelayMs(ep, 2)];
    expect(one.pushCount).toBeGreaterThan(two.pushCount);
  });
});

describe('re-push with two bridges', () => {
  it('pushes once per round, not once per bridge, and both bridges take part', async () => {
    const second = await runBridge(bridgeRuntime(db.url, names, fake.url, ENV));
    try {
      const before = [await counterValue(running.rt.metrics.pushes), await counterValue(second.rt.metrics.pushes)];
      // Twenty endpoints, five pushes each: a hundred rounds shared by two schedulers and two drainers.
      const eps = Array.from({ length: 20 }, () => uniquePrefix('ep'));
      await Promise.all(eps.map((ep) => invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 600_000 }))));
      await waitFor(() => eps.every((ep) => seen.of(ep).length >= 5), 60_000, 'five pushes to each endpoint');
      for (const ep of eps) {
        // A round pushed by both bridges would show as two publishes closer than the first delay.
        for (const gap of gaps(publishedAt(seen.of(ep)))) expect(gap).toBeGreaterThanOrEqual(200);
      }
      const byBridge = [
        (await counterValue(running.rt.metrics.pushes)) - before[0]!,
        (await counterValue(second.rt.metrics.pushes)) - before[1]!,
      ];
      expect(byBridge[0]).toBeGreaterThan(0);
      expect(byBridge[1]).toBeGreaterThan(0);
    } finally {
      await second.stop();
    }
  });
});
