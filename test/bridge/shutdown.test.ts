import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { answer } from '../../shared/bridge/index.js';
import { encodeClientData, espClientDataSubject } from '../../shared/protocol/index.js';
import { invokeCommand } from '../../shared/commands/index.js';
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

/** A function answer the test releases by hand: the forward stays in flight until then. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('bridge shutdown (SIGTERM)', () => {
  it('finishes in-flight forwards, publishes their answers, then stops subscribing', async () => {
    const names = uniqueNames();
    // A grace far longer than the test needs: the held forward must finish, not be cut.
    const running = await runBridge(bridgeRuntime(db.url, names, fake.url, { CEX_SHUTDOWN_GRACE_MS: '60000' }));
    const reply = `${uniquePrefix('reply')}.esp.ExtensionData`;
    const replies = await collect(nc, reply);
    const held = gate();
    fake.respond = async () => {
      await held.wait;
      return { status: 200, body: answer([{ subject: reply, data: Buffer.from('late answer') }]) };
    };
    const forwarded = () => counterValue(running.rt.metrics.natsMessages, { outcome: 'forwarded' });
    const before = await forwarded();
    const first = clientData();
    nc.publish(espClientDataSubject(names.instance), first);
    await waitFor(() => fake.received.some((r) => r.body.equals(first)), 15_000, 'the forward in flight');

    let stopped = false;
    const stopping = running.bridge.stop().then(() => (stopped = true));
    await waitFor(async () => (await running.rt.readiness()).checks.nats === false, 15_000, 'readiness to turn false');
    expect(stopped).toBe(false);
    held.open();
    await stopping;
    // stop() resolved only after the in-flight forward was answered and counted...
    expect(await forwarded()).toBe(before + 1);
    // ...and its answer was published before the connection closed.
    await waitFor(() => replies.messages.length === 1, 15_000, 'the answer of the in-flight forward');
    expect(Buffer.from(replies.messages[0]!.data).toString()).toBe('late answer');
    expect(running.bridge.nats()!.nc.isClosed()).toBe(true);
    expect((await running.rt.readiness()).checks.nats).toBe(false);

    // A message published now reaches the server (the test's own subscriber
    // gets it) but no longer the bridge, whose connection is closed.
    const witness = await collect(nc, espClientDataSubject(names.instance));
    const after = clientData();
    nc.publish(espClientDataSubject(names.instance), after);
    await waitFor(() => witness.messages.some((m) => Buffer.from(m.data).equals(after)), 15_000, 'the message on the server');
    expect(fake.received.some((r) => r.body.equals(after))).toBe(false);
    expect(await forwarded()).toBe(before + 1);
    witness.stop();
    replies.stop();
    await running.stop();
  });

  it('makes a last pass over the outbox before closing', async () => {
    const names = uniqueNames();
    const seen = await collectPushes(nc, names.kpc);
    // A catch-up scan far in the future: after the startup run, only a NOTIFY
    // or the final pass can publish.
    const running = await runBridge(bridgeRuntime(db.url, names, fake.url), {
      ...FAST,
      drainer: { ...FAST.drainer!, intervalMs: 600_000 },
      maintenance: { ...FAST.maintenance!, repushIntervalMs: 600_000 },
    });
    // A marker command with a NOTIFY: its push shows that a drain run came
    // and went after the startup one (runs never overlap), so nothing is
    // left that could pick up the next row but the final pass.
    const marker = uniquePrefix('marker');
    await invokeCommand(running.rt, restCommand(marker, 'reboot'));
    await waitFor(() => seen.of(marker).length === 1, 15_000, 'the marker push');
    const ep = uniquePrefix('ep');
    // Through the store: no NOTIFY.
    await createCommand(db.sql, restCommand(ep, 'reboot'));
    const [row] = await db.sql`SELECT claimed_until FROM outbox WHERE kind = 'push' AND endpoint_id = ${ep}`;
    expect(row).toEqual({ claimed_until: null });
    expect(seen.of(ep)).toHaveLength(0);
    await running.stop();
    await waitFor(() => seen.of(ep).length === 1, 15_000, 'the push of the final pass');
    seen.stop();
  });

  it('stops within the grace period even when a function hangs', async () => {
    const names = uniqueNames();
    const running = await runBridge(bridgeRuntime(db.url, names, fake.url, { CEX_SHUTDOWN_GRACE_MS: '1500' }), {
      ...FAST,
      forward: { timeoutMs: 600_000, retryDelaysMs: [] },
    });
    const hung = gate();
    fake.respond = async () => {
      await hung.wait;
      return { status: 204 };
    };
    const stuck = clientData();
    nc.publish(espClientDataSubject(names.instance), stuck);
    await waitFor(() => fake.received.some((r) => r.body.equals(stuck)), 15_000, 'the stuck forward');
    // The function never answers until the test lets it: stop() returning at
    // all shows it gave up on the forward (aborted when the grace ran out).
    await running.stop();
    expect(await counterValue(running.rt.metrics.natsMessages, { outcome: 'aborted' })).toBe(1);
    hung.open();
  });
});
