import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { otherInstance, startRestHost, type RestHost } from '../helpers/rest-host.js';
import { recordEndpointResults } from '../../shared/commands/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { descriptor, openSse, type SseStream } from './client.js';

let db: TestDatabase;
let host: RestHost;
let device: Runtime;

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

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('1,000 concurrent live status streams on one instance', () => {
  it('share the one LISTEN connection, and each gets its command’s result', async () => {
    const endpoints = Array.from({ length: 1000 }, (_, i) => `many-${i}`);
    const created = await fetch(`${host.url}/api/v1/endpoints/commands/reboot/batch/by-endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpointIds: endpoints }),
    });
    expect(created.status).toBe(202);

    const streams: SseStream[] = [];
    await inParallel(endpoints, 100, async (ep) => {
      streams.push(await openSse(`${host.url}/api/v1/endpoints/${ep}/commands/reboot/1/events`));
    });
    // And 100 endpoint streams beside them.
    const endpointStreams = await Promise.all(
      endpoints.slice(0, 100).map((ep) => openSse(`${host.url}/api/v1/endpoints/${ep}/commands/events`)),
    );
    await Promise.all([...streams, ...endpointStreams].map((s) => s.waitFor(1, 90_000)));
    expect(host.rt.streams.size).toEqual({ command: 1000, endpoint: 100 });

    const backends = await db.sql<{ application_name: string; n: number; listening: number }[]>`
      SELECT application_name, count(*)::int AS n, count(*) FILTER (WHERE query ILIKE 'LISTEN%')::int AS listening
        FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'cex-rest-test%'
       GROUP BY application_name ORDER BY application_name`;
    process.stdout.write(`\n1,100 open streams; Postgres connections of the instance: ${JSON.stringify(backends)}\n`);
    const listener = backends.find((b) => b.application_name === 'cex-rest-test-listener');
    expect(listener?.n).toBe(1);
    const pool = backends.find((b) => b.application_name === 'cex-rest-test');
    expect(pool?.n ?? 0).toBeLessThanOrEqual(host.rt.config.dbPoolMax);

    const started = performance.now();
    await inParallel(endpoints, 20, async (ep) => {
      await recordEndpointResults(device, ep, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    });
    await Promise.all(streams.map((s) => s.ended));
    await Promise.all(endpointStreams.map((s) => s.waitFor(2, 90_000)));
    process.stdout.write(
      `1,000 results recorded and streamed to their 1,000 + 100 streams in ${(performance.now() - started).toFixed(0)} ms\n`,
    );
    for (const s of streams) expect(s.events.map((e) => descriptor(e).status)).toEqual(['PENDING', 'EXECUTED']);
    for (const s of endpointStreams) expect(s.events.map((e) => descriptor(e).status)).toEqual(['PENDING', 'EXECUTED']);
    for (const s of endpointStreams) s.close();
    // A scale test, not a speed test: the budget is for a busy machine.
  }, 240_000);
});
