import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { waitUntil } from '../helpers/wait.js';

// CEX_MAX_WAITERS (README "Operations"): past the cap a sync invoke answers
// 503 + Retry-After before it stores anything; async invokes never wait, so
// they are not limited.
const CAP = 3;
let db: TestDatabase;
let host: RestHost;

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db, { CEX_MAX_WAITERS: String(CAP) });
});
afterAll(async () => {
  await host?.stop();
  await db?.drop();
});

const invoke = (endpointId: string, awaitTimeout: number, signal?: AbortSignal) =>
  fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=${awaitTimeout}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    ...(signal ? { signal } : {}),
  });

const stored = async (endpointId: string) =>
  (await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE endpoint_id = ${endpointId}`)[0]!.n;

describe('maximum waiters per instance', () => {
  it('answers 503 with Retry-After and problem+json once CEX_MAX_WAITERS callers wait, storing nothing', async () => {
    const abort = new AbortController();
    const waiting = Array.from({ length: CAP }, (_, i) => invoke(`wl-wait-${i}`, 30, abort.signal).catch(() => undefined));
    const registry = host.rt.waiters;
    await waitUntil(() => registry.size === CAP, `${CAP} callers waiting`);

    const refused = await invoke('wl-refused', 5);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(await refused.json()).toMatchObject({ status: 503, code: 'TOO_MANY_WAITERS' });
    expect(await stored('wl-refused')).toBe(0);

    // An async invoke needs no waiter: still accepted.
    const async = await invoke('wl-async', 0);
    expect(async.status).toBe(202);
    expect(await stored('wl-async')).toBe(1);

    // Room again once the waiters leave (their clients went away).
    abort.abort();
    await Promise.all(waiting);
    await waitUntil(() => registry.size === 0, 'the waiters released');
    expect(registry.hasRoom()).toBe(true);
    const again = await invoke('wl-again', 1);
    expect(again.status).toBe(202);
  });
});
