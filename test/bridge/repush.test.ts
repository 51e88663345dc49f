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
  sleep,
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

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('re-push', () => {
  it('re-pushes with doubling backoff, capped, and stops once the result is in', async () => {
    const ep = uniquePrefix('ep');
    const repushes = await counterValue(running.rt.metrics.pushes, { reason: 'repush' });
    await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 10_000 }));
    await waitFor(() => seen.of(ep).length >= 5, 5_000, 'five pushes');
    const times = seen.of(ep).map((p) => p.at);
    const [first, second, third, fourth] = gaps(times);
    // Scheduler and drain ticks add up to ~100 ms of jitter on top of the plan.
    expect(first).toBeGreaterThanOrEqual(180);
    expect(first).toBeLessThan(600);
    expect(second).toBeGreaterThanOrEqual(380);
    expect(third).toBeGreaterThanOrEqual(780);
    expect(fourth).toBeGreaterThanOrEqual(780);
    expect(fourth).toBeLessThan(1_300);
    for (const push of seen.of(ep)) expect(push.ids).toEqual([1]);
    // The metric counts after the database write that follows the publish.
    await waitFor(async () => (await counterValue(running.rt.metrics.pushes, { reason: 'repush' })) >= repushes + 4, 2_000, 'repush metric');

    await recordEndpointResults(running.rt, ep, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    const count = seen.of(ep).length;
    await sleep(1_500);
    expect(seen.of(ep).length).toBeLessThanOrEqual(count + 1);
    const [row] = await db.sql`SELECT push_count, next_push_at FROM commands WHERE endpoint_id = ${ep}`;
    expect(row).toMatchObject({ push_count: seen.of(ep).length, next_push_at: null });
  });

  it('stops re-pushing at expiry, and never pushes an expired command', async () => {
    const ep = uniquePrefix('ep');
    const created = Date.now();
    await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 1_000 }));
    await sleep(2_000);
    const pushes = seen.of(ep);
    expect(pushes.length).toBeGreaterThanOrEqual(3);
    for (const p of pushes) expect(p.at - created).toBeLessThan(1_100);
    // A new command of the type: its push leaves the expired one out.
    await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 10_000 }));
    await waitFor(() => seen.of(ep).length > pushes.length, 5_000, 'the push of the new command');
    expect(seen.of(ep)[pushes.length]!.ids).toEqual([2]);
  });

  it('pushes every command of the type in each round, each on its own schedule', async () => {
    const ep = uniquePrefix('ep');
    await invokeCommand(running.rt, restCommand(ep, 'reboot'));
    await waitFor(() => seen.of(ep).length >= 3, 5_000, 'three pushes of the first');
    await invokeCommand(running.rt, restCommand(ep, 'reboot'));
    await waitFor(() => seen.of(ep).some((p) => p.ids.length === 2), 5_000, 'a push of both');
    const before = seen.of(ep).length;
    await waitFor(() => seen.of(ep).length >= before + 2, 5_000, 'two more rounds');
    for (const p of seen.of(ep).slice(before - 1)) expect(p.ids).toEqual([1, 2]);
  });
});

describe('re-push with two bridges', () => {
  it('pushes once per round, not once per bridge', async () => {
    const second = await runBridge(bridgeRuntime(db.url, names, fake.url, ENV));
    try {
      const ep = uniquePrefix('ep');
      await invokeCommand(running.rt, restCommand(ep, 'reboot', { ttlMillis: 10_000 }));
      await waitFor(() => seen.of(ep).length >= 5, 5_000, 'five pushes');
      const times = seen.of(ep).map((p) => p.at);
      // A round pushed by both bridges would show as two pushes a few ms apart.
      for (const gap of gaps(times)) expect(gap).toBeGreaterThanOrEqual(150);
      const [row] = await db.sql`SELECT push_count FROM commands WHERE endpoint_id = ${ep}`;
      expect(row!.push_count).toBeGreaterThanOrEqual(times.length);
      expect(row!.push_count).toBeLessThanOrEqual(times.length + 1);
    } finally {
      await second.stop();
    }
  });
});
