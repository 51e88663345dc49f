import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { invokeCommand, recordEndpointResults } from '../../shared/commands/index.js';
import { CHANNELS, notify } from '../../shared/db/index.js';
import { DEFAULT_DRAINER_SETTINGS } from '../../shared/nats-bridge/index.js';
import { enqueuePushesForEndpoints, noteAppVersion, setObserve, setOnline } from '../../shared/store/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniquePrefix } from '../helpers/nats.js';
import { referenceType } from '../protocol/reference.js';
import {
  bridgeRuntime,
  collect,
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
  type SeenPush,
} from './helpers.js';

let db: TestDatabase;
let fake: FakeFunctions;
let names: Names;
let nc: NatsConnection;
let running: RunningBridge;
let seen: Awaited<ReturnType<typeof collectPushes>>;
// No re-push inside these tests: each push seen here is a first push or a connect.
const ENV = { CEX_REPUSH_INITIAL_MS: '600000', CEX_REPUSH_MAX_MS: '600000' };

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

const endpoint = () => uniquePrefix('ep');
const invoke = (endpointId: string, type: string, over: Record<string, unknown> = {}) =>
  invokeCommand(running.rt, restCommand(endpointId, type, over));
const last = (pushes: SeenPush[]) => pushes[pushes.length - 1];
const outboxRows = async (eps: string[]) =>
  (await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox WHERE endpoint_id = ANY(${eps})`)[0]!.n;

/**
 * Everything the bridge owed these endpoints is published: their outbox rows
 * are gone (a row is deleted only after its publish was flushed to the
 * server), and a flush of the test's own connection then brings in whatever
 * the server routed to it before. The positive signal that stands in for
 * "wait a while and see that nothing more comes".
 */
async function allPublished(eps: string[]): Promise<void> {
  await waitFor(async () => (await outboxRows(eps)) === 0, 15_000, 'the outbox rows handled');
  await nc.flush();
}

describe('push rows', () => {
  it('publishes ExtensionData with every outstanding command of the type, oldest first', async () => {
    const ep = endpoint();
    await noteAppVersion(db.sql, ep, 'app-v1');
    await invoke(ep, 'reboot', { payload: { a: 1 } });
    await waitFor(() => seen.of(ep).length === 1, 15_000, 'the first push');
    await invoke(ep, 'reboot', { payload: 'two' });
    await invoke(ep, 'other', { payload: null });
    await waitFor(() => seen.of(ep).some((p) => p.ids.length === 2), 15_000, 'the second push');
    const push = seen.of(ep).find((p) => p.ids.length === 2)!;
    expect(push.items).toEqual([
      { id: 1, payload: { a: 1 } },
      { id: 2, payload: 'two' },
    ]);
    expect(push.message).toMatchObject({
      timeout: 0,
      appVersionName: 'app-v1',
      extensionInstanceName: names.instance,
      endpointId: ep,
      resourcePath: '/command/reboot',
      requestId: null,
      statusCode: 200,
      reasonPhrase: null,
    });
    expect(push.message.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => seen.of(ep).some((p) => p.commandType === 'other'), 15_000, 'the other type');
    expect(seen.of(ep).find((p) => p.commandType === 'other')!.items).toEqual([{ id: 1, payload: null }]);

    // A batch's pushes are completed (counted) after its one flush, so just after a push is seen.
    const readCounts = () => db.sql<{ pushCount: number; nextPushAt: Date | null; lastPushedAt: Date | null }[]>`
      SELECT push_count AS "pushCount", next_push_at AS "nextPushAt", last_pushed_at AS "lastPushedAt"
        FROM commands WHERE endpoint_id = ${ep} AND command_type = 'reboot' ORDER BY command_id`;
    await waitFor(async () => (await readCounts()).every((r) => r.pushCount > 0), 15_000, 'the pushes counted');
    const rows = await readCounts();
    expect(rows.map((r) => r.pushCount)).toEqual([2, 1]);
    for (const r of rows) expect(r.nextPushAt && r.lastPushedAt && r.nextPushAt > r.lastPushedAt).toBe(true);
    await waitFor(async () => (await db.sql`SELECT 1 FROM outbox WHERE endpoint_id = ${ep}`).length === 0, 15_000, 'outbox empty');
    // An unknown app version goes out as null.
    const unknown = endpoint();
    await invoke(unknown, 'reboot');
    await waitFor(() => seen.of(unknown).length === 1, 15_000, 'push to an unknown endpoint');
    expect(seen.of(unknown)[0]!.message.appVersionName).toBeNull();
  });

  it('a create of this process claims its push row for the drainer here, which publishes it without a claim of its own', async () => {
    const ep = endpoint();
    const outcome = await invoke(ep, 'reboot');
    expect(outcome.claimed?.row).toMatchObject({ endpointId: ep, commandType: 'reboot', attempts: 1 });
    await waitFor(() => seen.of(ep).length === 1, 15_000, 'the push of a claimed row');
    expect(seen.of(ep)[0]!.ids).toEqual([outcome.command.commandId]);
    await allPublished([ep]);
    expect(await outboxRows([ep])).toBe(0);
  });

  it('coalesces a burst: 100 commands, a few pushes, each with the whole array', async () => {
    const ep = endpoint();
    const started = performance.now();
    await Promise.all(Array.from({ length: 100 }, (_, i) => invoke(ep, 'burst', { payload: i })));
    const burstMs = performance.now() - started;
    await waitFor(() => last(seen.of(ep))?.ids.length === 100, 15_000, 'a push of all 100');
    await allPublished([ep]);
    const pushes = seen.of(ep);
    // The first push goes at once; while the burst lasts, the row is held
    // DEFAULT_DRAINER_SETTINGS.burstHoldMs between pushes; one more carries
    // what the last pass missed. Without the hold: a push per pass.
    expect(pushes.length).toBeLessThanOrEqual(2 + Math.ceil(burstMs / DEFAULT_DRAINER_SETTINGS.burstHoldMs));
    // Each push is the outstanding set when it was read: it only grows, never skips back.
    for (let i = 1; i < pushes.length; i++) {
      expect(pushes[i]!.ids.length).toBeGreaterThanOrEqual(pushes[i - 1]!.ids.length);
      for (const id of pushes[i - 1]!.ids) expect(pushes[i]!.ids).toContain(id);
    }
    expect([...last(pushes)!.ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('does not push to an offline endpoint, and pushes at once when it connects', async () => {
    const ep = endpoint();
    await setOnline(db.sql, new Map([[ep, 'app-v3']]), false);
    await invoke(ep, 'reboot');
    await invoke(ep, 'reboot');
    await allPublished([ep]);
    expect(seen.of(ep)).toHaveLength(0);
    const [parked] =
      await db.sql`SELECT count(*)::int AS n FROM commands WHERE endpoint_id = ${ep} AND next_push_at IS NULL AND push_count = 0`;
    expect(parked!.n).toBe(2);

    const connects = await counterValue(running.rt.metrics.pushes, { reason: 'connect' });
    await setOnline(db.sql, new Map([[ep, 'app-v4']]), true);
    expect(await enqueuePushesForEndpoints(db.sql, [ep])).toBe(1);
    await notify(db.sql, CHANNELS.outbox);
    await waitFor(() => seen.of(ep).length === 1, 15_000, 'the push on connect');
    expect(seen.of(ep)[0]!.ids).toEqual([1, 2]);
    expect(seen.of(ep)[0]!.message.appVersionName).toBe('app-v4');
    // Reason is 'new' here (never pushed before); a second connect is a 'connect'.
    await enqueuePushesForEndpoints(db.sql, [ep]);
    await notify(db.sql, CHANNELS.outbox);
    await waitFor(() => seen.of(ep).length === 2, 15_000, 'the second push on connect');
    // The metric counts after the database write that follows the publish.
    await waitFor(
      async () => (await counterValue(running.rt.metrics.pushes, { reason: 'connect' })) === connects + 1,
      15_000,
      'connect metric',
    );
  });

  it('does not push a type the endpoint does not observe', async () => {
    const ep = endpoint();
    await setObserve(db.sql, ep, 'quiet', false);
    await invoke(ep, 'quiet');
    await invoke(ep, 'loud');
    await waitFor(() => seen.of(ep).length === 1, 15_000, 'the observed type');
    await allPublished([ep]);
    expect(seen.of(ep).map((p) => p.commandType)).toEqual(['loud']);
    // The all-types flag counts where no type-specific one is set.
    const all = endpoint();
    await setObserve(db.sql, all, '*', false);
    await setObserve(db.sql, all, 'wanted', true);
    await invoke(all, 'any');
    await invoke(all, 'wanted');
    await waitFor(() => seen.of(all).length === 1, 15_000, 'the explicitly observed type');
    await allPublished([all]);
    expect(seen.of(all).map((p) => p.commandType)).toEqual(['wanted']);
  });

  it('includes a push-once (zero TTL) command exactly once', async () => {
    const ep = endpoint();
    await invoke(ep, 'flash', { ttlMillis: 0, awaitTimeoutSeconds: 5, payload: 'once' });
    await waitFor(() => seen.of(ep).length === 1, 15_000, 'the push-once push');
    expect(seen.of(ep)[0]!.items).toEqual([{ id: 1, payload: 'once' }]);
    await invoke(ep, 'flash', { payload: 'regular' });
    await waitFor(() => seen.of(ep).length === 2, 15_000, 'the next push');
    expect(seen.of(ep)[1]!.items).toEqual([{ id: 2, payload: 'regular' }]);
    const [once] = await db.sql`SELECT push_count, next_push_at FROM commands WHERE endpoint_id = ${ep} AND command_id = 1`;
    expect(once).toMatchObject({ push_count: 1, next_push_at: null });
  });

  it('publishes a CIP result with the caller correlationId', async () => {
    const ep = endpoint();
    const reply = `kaa.v1.replica.${uniquePrefix('caller')}.cip.command-result`;
    const results = await collect(nc, reply);
    await invoke(ep, 'reboot', { origin: 'cip', commandId: 42, cipReplySubject: reply, cipCorrelationId: 'corr-42' });
    await waitFor(() => seen.of(ep).length === 1, 15_000, 'the push');
    await recordEndpointResults(
      running.rt,
      ep,
      'reboot',
      [{ commandId: 42, statusCode: 201, reasonPhrase: 'Done', payload: { ok: true } }],
      'app-v9',
    );
    await waitFor(() => results.messages.length === 1, 15_000, 'the CIP result');
    const result = referenceType('commandInvocationResult').fromBuffer(Buffer.from(results.messages[0]!.data)) as Record<string, unknown>;
    expect(result).toMatchObject({
      correlationId: 'corr-42',
      timeout: 0,
      appVersionName: 'app-v9',
      endpointId: ep,
      commandType: 'reboot',
      commandId: 42,
      statusCode: 201,
      reasonPhrase: 'Done',
    });
    expect(JSON.parse((result.payload as Buffer).toString())).toEqual({ ok: true });
    await waitFor(async () => (await db.sql`SELECT 1 FROM outbox WHERE endpoint_id = ${ep}`).length === 0, 15_000, 'outbox empty');
    results.stop();
  });
});

describe('two bridges draining one database', () => {
  it('publishes each row once, and both bridges take part', async () => {
    const second = await runBridge(bridgeRuntime(db.url, names, fake.url, ENV));
    const before = [await counterValue(running.rt.metrics.pushes), await counterValue(second.rt.metrics.pushes)];
    const reply = `kaa.v1.replica.${uniquePrefix('caller')}.cip.command-result`;
    const results = await collect(nc, reply);
    try {
      // Written as a function pod would (no drainer in its process): both
      // bridges hear of the rows by NOTIFY alone. Written through one
      // bridge's services, that bridge is woken first, in process, and could
      // take every row before the other's NOTIFY arrives.
      const pod = { ...running.rt, localDrainer: undefined };
      const eps = Array.from({ length: 120 }, endpoint);
      await Promise.all(
        eps.map((ep, i) =>
          invokeCommand(
            pod,
            restCommand(ep, 'reboot', { origin: 'cip', commandId: i + 1, cipReplySubject: reply, cipCorrelationId: `c-${i}` }),
          ),
        ),
      );
      await waitFor(() => eps.every((ep) => seen.of(ep).length >= 1), 30_000, 'every endpoint pushed');
      await Promise.all(eps.map((ep, i) => recordEndpointResults(pod, ep, 'reboot', [{ commandId: i + 1, statusCode: 200 }], null)));
      await waitFor(() => results.messages.length >= eps.length, 30_000, 'every CIP result');
      await allPublished(eps);
      expect(eps.map((ep) => seen.of(ep).length)).toEqual(eps.map(() => 1));
      expect(results.messages).toHaveLength(eps.length);
      // 240 rows claimed by two drainers woken by the same NOTIFYs: each published some.
      const byBridge = async () => [
        (await counterValue(running.rt.metrics.pushes)) - before[0]!,
        (await counterValue(second.rt.metrics.pushes)) - before[1]!,
      ];
      // The metric counts just after the statement that deleted the row.
      await waitFor(async () => (await byBridge()).reduce((a, b) => a + b) === eps.length, 15_000, 'every push counted');
      const [first, other] = await byBridge();
      expect(first).toBeGreaterThan(0);
      expect(other).toBeGreaterThan(0);
    } finally {
      results.stop();
      await second.stop();
    }
  });
});
