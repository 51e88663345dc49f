import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { answer } from '../../shared/bridge/index.js';
import { invokeCommand } from '../../shared/commands/index.js';
import { encodeClientData, espClientDataSubject } from '../../shared/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniquePrefix } from '../helpers/nats.js';
import {
  bridgeRuntime,
  collectPushes,
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

// Latency of the two bridge paths, printed beside their floor. Loose bounds
// only: test files run in parallel on a shared machine.
let db: TestDatabase;
let fake: FakeFunctions;
let names: Names;
let nc: NatsConnection;
let running: RunningBridge;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  names = uniqueNames();
  nc = await testConnection();
  running = await runBridge(bridgeRuntime(db.url, names, fake.url, { CEX_REPUSH_INITIAL_MS: '600000', CEX_REPUSH_MAX_MS: '600000' }));
});
afterAll(async () => {
  await running?.stop();
  await nc?.close();
  await fake?.close();
  await db?.drop();
});

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const ms = (n: number) => Number(n.toFixed(2));
const now = () => performance.now();

describe('bridge latency', () => {
  it('push: invoke committed (+ NOTIFY) → ExtensionData published', async () => {
    const seen = await collectPushes(nc, names.kpc);
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const ep = uniquePrefix('ep');
      await invokeCommand(running.rt, restCommand(ep, 'reboot'));
      const start = performance.now();
      await waitFor(() => seen.of(ep).length > 0, 5_000, 'the push');
      samples.push(seen.of(ep)[0]!.hr - start);
    }
    // Floor: a bare NATS publish → delivery on the same connection pair.
    const floor: number[] = [];
    const subject = `${uniquePrefix('floor')}.ping`;
    nc.subscribe(subject, {
      callback: (_e, m) => {
        m.respond(m.data);
      },
    });
    for (let i = 0; i < 200; i++) {
      const start = now();
      await nc.request(subject, new Uint8Array(1));
      floor.push(now() - start);
    }
    console.info('push after commit', { p50: ms(pct(samples, 50)), p99: ms(pct(samples, 99)), natsRoundTripP50: ms(pct(floor, 50)) });
    expect(pct(samples, 50)).toBeLessThan(250);
    seen.stop();
  });

  it('forward: ClientData request → function → answer published to replyTo', async () => {
    fake.respond = (req) => ({ status: 200, body: answer([{ subject: String(req.headers['ce-natsreply']), data: Buffer.from('ok') }]) });
    const bytes = () =>
      encodeClientData({
        correlationId: randomUUID(), timestamp: Date.now(), timeout: 0, appVersionName: 'a', endpointId: 'e',
        resourcePath: '/command/x', requestId: 1, payload: Buffer.from('{}'), configName: null,
      });
    const samples: number[] = [];
    for (let i = 0; i < 300; i++) {
      const start = now();
      await nc.request(espClientDataSubject(names.instance), bytes(), { timeout: 5_000 });
      samples.push(now() - start);
    }
    console.info('forward round trip', { p50: ms(pct(samples, 50)), p99: ms(pct(samples, 99)) });
    expect(pct(samples, 50)).toBeLessThan(250);
  });
});
