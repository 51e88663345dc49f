import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, otherInstance, type RestHost } from '../helpers/rest-host.js';
import { recordEndpointResults } from '../../shared/commands/index.js';
import { notify, CHANNELS } from '../../shared/db/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { waitUntil } from '../helpers/wait.js';

let db: TestDatabase;
let host: RestHost; // instance 1: holds the waiters
let recorder: Runtime; // instance 2: records results through its own connections

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
  recorder = otherInstance(db);
});
afterAll(async () => {
  await host.stop();
  await recorder.shutdown();
  await db.drop();
});

async function waitForPending(endpointId: string, count = 1): Promise<number[]> {
  let ids: number[] = [];
  await waitUntil(async () => {
    const rows = await db.sql<
      { id: number }[]
    >`SELECT command_id AS id FROM commands WHERE endpoint_id = ${endpointId} ORDER BY command_id`;
    ids = rows.map((r) => r.id);
    return ids.length >= count;
  }, `the commands of ${endpointId}`);
  return ids;
}

const invoke = (endpointId: string, wait = 20) =>
  fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=${wait}`, { method: 'POST' });

describe('sync waiters', () => {
  it('wake on instance 1 when instance 2 records the result', async () => {
    const pending = invoke('cross-1');
    const [id] = await waitForPending('cross-1');
    await recordEndpointResults(
      recorder,
      'cross-1',
      'reboot',
      [{ commandId: id!, statusCode: 200, payload: { from: 'instance 2' } }],
      null,
    );
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ from: 'instance 2' });
  });

  it('still get their result when the listener connection is killed while they wait', async () => {
    const pending = invoke('killed-1');
    const [id] = await waitForPending('killed-1');
    const killed = await db.sql`
      SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'cex-rest-test-listener'`;
    expect(killed).toHaveLength(1);
    // The result's NOTIFY may be sent while the listener is down: the
    // re-read after reconnect (or the safety tick) must still wake the waiter.
    await recordEndpointResults(recorder, 'killed-1', 'reboot', [{ commandId: id!, statusCode: 204 }], null);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-command-status-code')).toBe('204');
  });

  it('wake without any NOTIFY, from the safety tick alone', async () => {
    const pending = invoke('silent-1');
    const [id] = await waitForPending('silent-1');
    // Record through the store directly: no NOTIFY is ever sent.
    const { recordResults } = await import('../../shared/store/index.js');
    await recordResults(recorder.sql, 'silent-1', 'reboot', [{ commandId: id!, statusCode: 200, payload: 'tick' }]);
    const res = await pending;
    expect(await res.json()).toBe('tick');
  });

  it('resolve 1,000 concurrent sync invokes correctly on one LISTEN connection', async () => {
    const n = 1000;
    // fetch's default dispatcher opens as many sockets as there are requests.
    const calls = Array.from({ length: n }, (_, i) =>
      fetch(`${host.url}/api/v1/endpoints/many-${i}/commands/reboot?awaitTimeout=60`, { method: 'POST' }),
    );
    // Record every result once all commands exist, in batches, from instance 2.
    for (let i = 0; i < n; i++) await waitForPending(`many-${i}`);
    const listeners = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name LIKE '%-listener' AND application_name LIKE 'cex-rest-test%'`;
    expect(listeners[0]!.n).toBe(1);
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        recordEndpointResults(recorder, `many-${i}`, 'reboot', [{ commandId: 1, statusCode: 200, payload: i }], null),
      ),
    );
    const responses = await Promise.all(calls);
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(bodies).toEqual(Array.from({ length: n }, (_, i) => i));
  }, 120_000);

  it('leave nothing behind once answered', async () => {
    const registry = host.rt.waiters;
    const pending = invoke('tidy-1');
    const [id] = await waitForPending('tidy-1');
    await waitUntil(() => registry.size === 1, 'the caller waiting');
    await recordEndpointResults(recorder, 'tidy-1', 'reboot', [{ commandId: id!, statusCode: 200 }], null);
    expect((await pending).status).toBe(200);
    await waitUntil(() => registry.size === 0, 'the registry empty');
  });

  it('ignore NOTIFY payloads that name no waiter or are malformed', async () => {
    await notify(recorder.sql, CHANNELS.command, ['', 'garbage', 'a/b/c/d', 'x/y/1']);
    const res = await fetch(`${host.url}/readyz`);
    expect(res.status).toBe(200);
  });
});
