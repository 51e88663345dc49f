/**
 * The bridge's inbound queue is bounded (README, Operations): forwards in
 * flight, messages waiting, bytes waiting. Past a limit a new message is
 * dropped and counted (cex_nats_messages_total{outcome="overload"}), and the
 * drops are logged at most 20 lines a second per reason. The limits are set
 * small here (production: 256 in flight, 10,000 / 64 MiB waiting) and the
 * fake functions hold every answer until the test lets them go, so the queue
 * is full by construction, not by timing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { LogThrottle } from '../../shared/nats-bridge/throttle.js';
import { encodeClientData, espClientDataSubject } from '../../shared/protocol/index.js';
import type { Logger } from '../../shared/log/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  bridgeRuntime,
  counterValue,
  FAST,
  runBridge,
  startFakeFunctions,
  testConnection,
  uniqueNames,
  waitFor,
  type FakeFunctions,
} from './helpers.js';

let db: TestDatabase;
let fake: FakeFunctions;
let nc: NatsConnection;
beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  nc = await testConnection();
});
afterAll(async () => {
  await nc?.close();
  await fake?.close();
  await db?.drop();
});

const message = (endpointId: string) =>
  encodeClientData({
    correlationId: randomUUID(),
    timestamp: Date.now(),
    timeout: 0,
    appVersionName: 'app-v1',
    endpointId,
    resourcePath: '/command/reboot',
    requestId: 1,
    payload: Buffer.from('{}'),
    configName: null,
  });

/** Holds every forward until release(); then answers 204. */
function holdAnswers(): { release(): void } {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  fake.respond = async () => {
    await held;
    return { status: 204 };
  };
  return { release };
}

async function withBridge(
  limits: { maxInFlight: number; maxQueued: number; maxQueuedBytes: number },
  work: (b: Awaited<ReturnType<typeof runBridge>>, subject: string) => Promise<void>,
) {
  const names = uniqueNames();
  const running = await runBridge(bridgeRuntime(db.url, names, fake.url), { ...FAST, limits });
  try {
    await work(running, espClientDataSubject(names.instance));
  } finally {
    await running.stop();
  }
}

describe('bridge load shedding', () => {
  it('keeps maxInFlight forwards and maxQueued waiting, drops and counts the rest as overload, then forwards what it kept', async () => {
    await withBridge({ maxInFlight: 2, maxQueued: 3, maxQueuedBytes: 64 * 1024 * 1024 }, async (running, subject) => {
      const gate = holdAnswers();
      const overload = () => counterValue(running.rt.metrics.natsMessages, { outcome: 'overload' });
      const forwarded = () => counterValue(running.rt.metrics.natsMessages, { outcome: 'forwarded' });
      const before = await overload();
      const sent = Array.from({ length: 10 }, (_, i) => message(`shed-${i}`));
      for (const bytes of sent) nc.publish(subject, bytes);
      // Received in order: 2 start, 3 wait, 5 are dropped.
      await waitFor(async () => (await overload()) === before + 5, 30_000, 'five drops counted');
      await waitFor(() => fake.received.length === 2, 30_000, 'two forwards in flight');
      gate.release();
      await waitFor(async () => (await forwarded()) === 5, 30_000, 'the five kept messages forwarded');
      const got = (bytes: Buffer) => fake.received.filter((r) => r.body.equals(bytes)).length;
      expect(sent.map(got)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
      expect(await overload()).toBe(before + 5);
      fake.received.length = 0;
    });
  });

  it('drops a message whose bytes would overflow maxQueuedBytes', async () => {
    const size = message('bytes-0').length;
    // One in flight, room for two waiting messages' bytes (not three), however many messages.
    await withBridge({ maxInFlight: 1, maxQueued: 1_000, maxQueuedBytes: Math.floor(size * 2.5) }, async (running, subject) => {
      const gate = holdAnswers();
      const overload = () => counterValue(running.rt.metrics.natsMessages, { outcome: 'overload' });
      const sent = Array.from({ length: 6 }, (_, i) => message(`bytes-${i}`));
      for (const bytes of sent) nc.publish(subject, bytes);
      await waitFor(async () => (await overload()) === 3, 30_000, 'three drops counted');
      gate.release();
      await waitFor(
        async () => (await counterValue(running.rt.metrics.natsMessages, { outcome: 'forwarded' })) === 3,
        30_000,
        'the three kept forwarded',
      );
      expect(sent.map((b) => fake.received.filter((r) => r.body.equals(b)).length)).toEqual([1, 1, 1, 0, 0, 0]);
      fake.received.length = 0;
    });
  });
});

describe('drop log rate limit', () => {
  afterEach(() => vi.useRealTimers());

  it('writes at most 20 lines a second per reason, then says how many it suppressed', () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const log = {
      warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
      info: () => undefined,
    } as unknown as Logger;
    const throttle = new LogThrottle(log);
    for (let i = 0; i < 100; i++) throttle.warn('overload:esp', { i }, 'bridge backlog full: message dropped');
    // Another reason has its own budget.
    for (let i = 0; i < 5; i++) throttle.warn('undecodable:esp', { i }, 'undecodable message dropped');
    expect(lines.filter((l) => l.msg.startsWith('bridge backlog full'))).toHaveLength(20);
    expect(lines.filter((l) => l.msg.startsWith('undecodable'))).toHaveLength(5);
    // The next second: the first line reports the 80 left out.
    vi.setSystemTime(new Date('2026-01-01T00:00:01Z'));
    throttle.warn('overload:esp', { i: 100 }, 'bridge backlog full: message dropped');
    expect(lines.at(-1)!.fields).toMatchObject({ i: 100, suppressed: 80 });
    throttle.warn('overload:esp', { i: 101 }, 'bridge backlog full: message dropped');
    expect(lines.at(-1)!.fields.suppressed).toBeUndefined();
  });
});
