import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { answer } from '../../shared/bridge/index.js';
import { encodeClientData, espClientDataSubject } from '../../shared/protocol/index.js';
import { createCommand } from '../../shared/store/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniquePrefix } from '../helpers/nats.js';
import {
  bridgeRuntime,
  collect,
  collectPushes,
  counterValue,
  FAST,
  restCommand,
  runBridge,
  sleep,
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

const clientData = () =>
  encodeClientData({
    correlationId: randomUUID(),
    timestamp: Date.now(),
    timeout: 0,
    appVersionName: 'app-v1',
    endpointId: 'e-1',
    resourcePath: '/command/reboot',
    requestId: 1,
    payload: Buffer.from('{}'),
    configName: null,
  });

describe('bridge shutdown (SIGTERM)', () => {
  it('finishes in-flight forwards, publishes their answers, then stops subscribing', async () => {
    const names = uniqueNames();
    const running = await runBridge(bridgeRuntime(db.url, names, fake.url));
    const reply = `${uniquePrefix('reply')}.esp.ExtensionData`;
    const replies = await collect(nc, reply);
    fake.respond = () => ({ status: 200, delayMs: 500, body: answer([{ subject: reply, data: Buffer.from('late answer') }]) });
    const first = clientData();
    nc.publish(espClientDataSubject(names.instance), first);
    await waitFor(() => fake.received.some((r) => r.body.equals(first)), 5_000, 'the forward in flight');

    const started = Date.now();
    await running.bridge.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await waitFor(() => replies.messages.length === 1, 2_000, 'the answer of the in-flight forward');
    expect(running.bridge.nats()!.nc.isClosed()).toBe(true);
    expect((await running.rt.readiness()).checks.nats).toBe(false);

    const after = clientData();
    nc.publish(espClientDataSubject(names.instance), after);
    await nc.flush();
    await sleep(300);
    expect(fake.received.some((r) => r.body.equals(after))).toBe(false);
    replies.stop();
    await running.stop();
  });

  it('makes a last pass over the outbox before closing', async () => {
    const names = uniqueNames();
    const seen = await collectPushes(nc, names.kpc);
    // A catch-up scan far in the future and no NOTIFY: only the final pass can publish.
    const running = await runBridge(bridgeRuntime(db.url, names, fake.url), {
      ...FAST,
      drainer: { ...FAST.drainer!, intervalMs: 600_000 },
      maintenance: { ...FAST.maintenance!, repushIntervalMs: 600_000 },
    });
    await sleep(200);
    const ep = uniquePrefix('ep');
    await createCommand(db.sql, restCommand(ep, 'reboot'));
    await sleep(200);
    expect(seen.of(ep)).toHaveLength(0);
    await running.stop();
    await waitFor(() => seen.of(ep).length === 1, 2_000, 'the push of the final pass');
    seen.stop();
  });

  it('stops within the grace period even when a function hangs', async () => {
    const names = uniqueNames();
    const running = await runBridge(bridgeRuntime(db.url, names, fake.url, { CEX_SHUTDOWN_GRACE_MS: '1500' }), {
      ...FAST,
      forward: { timeoutMs: 60_000, retryDelaysMs: [] },
    });
    fake.respond = () => ({ status: 204, delayMs: 10_000 });
    const stuck = clientData();
    nc.publish(espClientDataSubject(names.instance), stuck);
    await waitFor(() => fake.received.some((r) => r.body.equals(stuck)), 5_000, 'the stuck forward');
    const started = Date.now();
    await running.stop();
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await counterValue(running.rt.metrics.natsMessages, { outcome: 'aborted' })).toBe(1);
  });
});
