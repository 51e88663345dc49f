import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { invokeCommand } from '../../shared/commands/index.js';
import { startNatsServer, type NatsServer } from '../../shared/devstack/index.js';
import { createLogger } from '../../shared/log/index.js';
import { encodeClientData, espClientDataSubject } from '../../shared/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniquePrefix } from '../helpers/nats.js';
import {
  bridgeRuntime,
  restCommand,
  runBridge,
  counterValue,
  startFakeFunctions,
  uniqueNames,
  waitFor,
  type FakeFunctions,
  type RunningBridge,
} from './helpers.js';

// A NATS server of this file alone, so it can be stopped and started again.
let server: NatsServer | undefined;
let db: TestDatabase;
let fake: FakeFunctions;
let running: RunningBridge;
const names = uniqueNames();
const log = createLogger('warn', 'test');

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  server = await startNatsServer({ log });
  running = await runBridge(bridgeRuntime(db.url, names, fake.url, { NATS_URL: server.url }));
});
afterAll(async () => {
  await running?.stop();
  await server?.stop();
  await fake?.close();
  await db?.drop();
});

const pushCounts = (eps: string[]) =>
  db.sql<{ pushed: number; unclaimed: number }[]>`
    SELECT (SELECT count(*)::int FROM commands WHERE endpoint_id = ANY(${eps}) AND push_count > 0) AS pushed,
           (SELECT count(*)::int FROM outbox WHERE endpoint_id = ANY(${eps}) AND claimed_until IS NULL AND attempts = 0) AS unclaimed`;
const natsReady = async () => (await running.rt.readiness()).checks.nats === true;

describe('NATS outage', () => {
  it('holds the outbox while NATS is down, then reconnects, resubscribes and pushes everything', async () => {
    const port = server!.port;
    await server!.stop();
    await waitFor(async () => !(await natsReady()), 15_000, 'readiness to notice the outage');

    const eps = Array.from({ length: 5 }, () => uniquePrefix('ep'));
    for (const ep of eps) await invokeCommand(running.rt, restCommand(ep, 'reboot'));
    // The bridge's own lag gauge saying its oldest push row has waited 0.6 s
    // (three of the drainer's 200 ms catch-up scans, each invoke also sent a
    // NOTIFY): the drainer had every chance to claim the rows by then.
    await waitFor(
      async () => (await counterValue(running.rt.metrics.outboxLagSeconds, { kind: 'push' })) >= 0.6,
      30_000,
      'the lag gauge to see the rows waiting',
    );
    // Not claimed at all: no attempts burnt, no backoff piling up.
    expect(await pushCounts(eps)).toEqual([{ pushed: 0, unclaimed: 5 }]);

    server = await startNatsServer({ log, port });
    await waitFor(natsReady, 30_000, 'the bridge to reconnect');
    await waitFor(async () => (await pushCounts(eps))[0]!.pushed === 5, 15_000, 'every push after the reconnect');

    // The subscriptions came back too.
    const nc: NatsConnection = await connect({ servers: server.url });
    try {
      const bytes = encodeClientData({
        correlationId: randomUUID(),
        timestamp: Date.now(),
        timeout: 0,
        appVersionName: 'a',
        endpointId: 'e',
        resourcePath: '/command/x',
        requestId: 1,
        payload: Buffer.from('{}'),
        configName: null,
      });
      nc.publish(espClientDataSubject(names.instance), bytes);
      await waitFor(() => fake.received.some((r) => r.body.equals(bytes)), 15_000, 'a forward after the reconnect');
    } finally {
      await nc.close();
    }
  }, 120_000);
});
