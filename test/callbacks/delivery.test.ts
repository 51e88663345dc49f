import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bridgeRuntime,
  counterValue,
  FAST,
  runBridge,
  startFakeFunctions,
  uniqueNames,
  waitFor,
  type FakeFunctions,
  type RunningBridge,
} from '../bridge/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { otherInstance } from '../helpers/rest-host.js';
import { callbackBackoffMs, postCallback } from '../../shared/jobs/index.js';
import { expireDue, invokeCommand, recordEndpointResults } from '../../shared/commands/index.js';
import { descriptorSchema } from '../../shared/rest/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { startReceiver, type Receiver } from './receiver.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

const SECRET = 'callback-secret-for-tests';

let db: TestDatabase;
let fake: FakeFunctions;
let bridge: RunningBridge;
let writer: Runtime; // REST and esp-inbound's side: creates commands and records results
let receiver: Receiver;
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  receiver = await startReceiver();
  const rt = bridgeRuntime(db.url, uniqueNames(), fake.url, { CEX_CALLBACK_ALLOWED_HOSTS: '127.0.0.1', CEX_CALLBACK_SECRET: SECRET });
  bridge = await runBridge(rt, {
    ...FAST,
    // maxAgeMs: the retry window; 6 s leaves the 4-attempt test room on a busy host.
    callbacks: { timeoutMs: 1_000, initialBackoffMs: 100, maxBackoffMs: 1_000, maxAgeMs: 6_000, maxInFlight: 8, intervalMs: 100 },
  });
  writer = otherInstance(db);
});
afterAll(async () => {
  await bridge?.stop();
  await writer?.shutdown();
  await receiver?.close();
  await fake?.close();
  await db?.drop();
});

/** A command whose callbackUrl is `path` on the receiver (or any URL). */
async function commandWithCallback(path: string, ttlMillis = 60_000, url = `${receiver.url}${path}`) {
  const endpointId = `cb-${++seq}`;
  const { command } = await invokeCommand(writer, {
    tenantId: 'kaa',
    endpointId,
    commandType: 'reboot',
    payload: { n: seq },
    ttlMillis,
    awaitTimeoutSeconds: 0,
    origin: 'rest',
    callbackUrl: url,
  });
  return command;
}

const deliveriesTo = (path: string) => receiver.deliveries.filter((d) => d.path === path);
const callbackRows = async (endpointId: string) =>
  db.sql<
    { attempts: number; last_error: string | null }[]
  >`SELECT attempts, last_error FROM outbox WHERE kind = 'callback' AND endpoint_id = ${endpointId}`;

describe('result callbacks', () => {
  it('retries with backoff until a 2xx: the 4th attempt of a receiver failing 3 is accepted; signed, one delivery id', async () => {
    receiver.answer = (path, n) => ({ status: path === '/flaky' && n <= 3 ? 503 : 200 });
    const command = await commandWithCallback('/flaky');
    await recordEndpointResults(
      writer,
      command.endpointId,
      'reboot',
      [{ commandId: 1, statusCode: 200, reasonPhrase: 'done', payload: { v: 2 } }],
      null,
    );
    await waitFor(() => deliveriesTo('/flaky').length === 4, 30_000, '4 attempts');
    await waitFor(async () => (await callbackRows(command.endpointId)).length === 0, 15_000, 'row deleted after the 2xx');

    const attempts = deliveriesTo('/flaky');
    expect(new Set(attempts.map((d) => d.headers['x-cex-delivery-id'])).size).toBe(1);
    expect(attempts[0]!.headers['x-cex-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(attempts.map((d) => d.headers['x-cex-attempt'])).toEqual(['1', '2', '3', '4']);
    for (const d of attempts) {
      expect(d.headers['content-type']).toBe('application/json');
      const expected = `sha256=${createHmac('sha256', SECRET).update(d.body).digest('hex')}`;
      expect(d.headers['x-cex-signature']).toBe(expected);
      expect(d.body).toBe(attempts[0]!.body);
    }
    const body = descriptorSchema.parse(JSON.parse(attempts[3]!.body));
    expect(body).toMatchObject({
      endpointId: command.endpointId,
      commandId: 1,
      status: 'EXECUTED',
      statusCode: 200,
      reasonPhrase: 'done',
      responsePayload: { v: 2 },
    });
    // Exponential: each retry waits at least its planned 100, 200, 400 ms
    // less the 20 % jitter. Lower bounds on a configured delay: the receiver
    // stamps an attempt in the same callback that answers it, so a busy host
    // can only lengthen a gap, never shorten it (no speed is asserted).
    const gaps = attempts.slice(1).map((d, i) => d.at - attempts[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(80);
    expect(gaps[1]).toBeGreaterThanOrEqual(160);
    expect(gaps[2]).toBeGreaterThanOrEqual(320);
    expect(await counterValue(bridge.rt.metrics.callbacks, { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
    expect(await counterValue(bridge.rt.metrics.callbacks, { outcome: 'failed' })).toBeGreaterThanOrEqual(3);
  });

  it('calls back with the EXPIRED descriptor when the command expires', async () => {
    receiver.answer = () => ({ status: 204 });
    const command = await commandWithCallback('/expired', 100);
    await untilDatabaseTimePasses(db.sql, command.expiresAt);
    await expireDue(writer);
    await waitFor(() => deliveriesTo('/expired').length === 1, 15_000, 'the callback');
    expect(descriptorSchema.parse(JSON.parse(deliveriesTo('/expired')[0]!.body))).toMatchObject({
      endpointId: command.endpointId,
      status: 'EXPIRED',
      statusCode: null,
    });
  });

  it('gives up when no attempt succeeded within the retry window, and says so in a metric', async () => {
    receiver.answer = (path) => ({ status: path === '/down' ? 500 : 200 });
    const before = await counterValue(bridge.rt.metrics.callbacks, { outcome: 'gave_up' });
    const command = await commandWithCallback('/down');
    await recordEndpointResults(writer, command.endpointId, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    // Its row goes when it is given up (the metric may count another test's row too).
    await waitFor(async () => (await callbackRows(command.endpointId)).length === 0, 30_000, 'give up');
    await waitFor(
      async () => (await counterValue(bridge.rt.metrics.callbacks, { outcome: 'gave_up' })) > before,
      15_000,
      'the give-up counted',
    );
    expect(deliveriesTo('/down').length).toBeGreaterThanOrEqual(3);
  });

  it('re-checks the allowed hosts at delivery time: a host no longer allowed is never called', async () => {
    const before = await counterValue(bridge.rt.metrics.callbacks, { outcome: 'refused' });
    const command = await commandWithCallback('/x', 60_000, `http://localhost:${receiver.port}/not-allowed`);
    await recordEndpointResults(writer, command.endpointId, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    await waitFor(async () => (await counterValue(bridge.rt.metrics.callbacks, { outcome: 'refused' })) > before, 15_000, 'refusal');
    // The row goes just after the refusal is counted.
    await waitFor(async () => (await callbackRows(command.endpointId)).length === 0, 15_000, 'the refused row gone');
    expect(deliveriesTo('/not-allowed')).toEqual([]);
  });

  it('follows a same-origin 307 but never a redirect to another host', async () => {
    receiver.answer = (path) => {
      if (path === '/moved') return { status: 307, location: '/moved-here' };
      if (path === '/elsewhere') return { status: 307, location: `http://localhost:${receiver.port}/stolen` };
      return { status: 200 };
    };
    const same = await commandWithCallback('/moved');
    const other = await commandWithCallback('/elsewhere');
    await recordEndpointResults(writer, same.endpointId, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    await recordEndpointResults(writer, other.endpointId, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    await waitFor(() => deliveriesTo('/moved-here').length === 1, 15_000, 'redirected delivery');
    await waitFor(
      async () => ((await callbackRows(other.endpointId))[0]?.last_error ?? '').includes('not followed'),
      15_000,
      'refused redirect',
    );
    expect(deliveriesTo('/stolen')).toEqual([]);
  });

  it('times out an attempt that gets no answer and tries again', async () => {
    receiver.answer = (path, n) => ({ status: 200, delayMs: path === '/slow' && n === 1 ? 3_000 : 0 });
    const command = await commandWithCallback('/slow');
    await recordEndpointResults(writer, command.endpointId, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    await waitFor(
      async () => deliveriesTo('/slow').length === 2 && (await callbackRows(command.endpointId)).length === 0,
      30_000,
      'second attempt',
    );
    // The second attempt came only after the first timed out (1 s): a lower
    // bound on a configured timeout, which load can only lengthen.
    const [first, second] = deliveriesTo('/slow');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
  });
});

describe('callback attempts and backoff (no database)', () => {
  it('signs only when a secret is set, and doubles the delay up to the cap with ±20 % jitter', async () => {
    receiver.answer = () => ({ status: 200 });
    const attempt = {
      url: `${receiver.url}/unsigned`,
      body: '{"a":1}',
      deliveryId: 'd-1',
      attempt: 1,
      allowedHosts: ['127.0.0.1'],
      secret: undefined,
      timeoutMs: 1_000,
      signal: new AbortController().signal,
    };
    expect(await postCallback(attempt)).toEqual({ outcome: 'delivered', status: 200 });
    expect(deliveriesTo('/unsigned')[0]!.headers['x-cex-signature']).toBeUndefined();
    expect((await postCallback({ ...attempt, url: 'ftp://127.0.0.1/x' })).outcome).toBe('refused');
    const s = { initialBackoffMs: 1_000, maxBackoffMs: 300_000 };
    expect([1, 2, 3, 10, 30].map((n) => callbackBackoffMs(n, s, 0.5))).toEqual([1_000, 2_000, 4_000, 300_000, 300_000]);
    expect(callbackBackoffMs(1, s, 0)).toBe(800);
    expect(callbackBackoffMs(1, s, 1)).toBe(1_200);
  });
});
