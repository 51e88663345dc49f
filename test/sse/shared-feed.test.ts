import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEndpointResults } from '../../shared/commands/index.js';
import type { Services } from '../../shared/roots/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { otherInstance, startRestHost, type RestHost } from '../helpers/rest-host.js';
import { waitUntil } from '../helpers/wait.js';
import { descriptor, openSse } from './client.js';

// Issue 15, item 4: sync waiters and SSE streams share the process's one
// change feed, so a command watched by both is one watch (one re-read).
let db: TestDatabase;
let host: RestHost;
let device: Services; // another instance recording results, as esp-inbound would

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
  device = otherInstance(db);
});
afterAll(async () => {
  await host.stop();
  await device.shutdown();
  await db.drop();
});

describe('one change feed per process', () => {
  it('watches a command that a sync caller and a stream both wait for once, and wakes both', async () => {
    const endpointId = 'feed-1';
    const invoked = fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    await waitUntil(() => host.rt.waiters.size === 1, 'the caller waiting');
    const stream = await openSse(`${host.url}/api/v1/endpoints/${endpointId}/commands/reboot/1/events`);
    await stream.waitFor(1);
    expect(host.rt.streams.size.command).toBe(1);
    expect(host.rt.changes.watchedKeys).toBe(1);

    await recordEndpointResults(device, endpointId, 'reboot', [{ commandId: 1, statusCode: 200, payload: { ok: true } }], null);
    const res = await invoked;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    await stream.ended;
    expect(stream.events.map((e) => descriptor(e).status)).toEqual(['PENDING', 'EXECUTED']);
    await waitUntil(() => host.rt.changes.watchedKeys === 0, 'nothing watched any more');
  });
});
