import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEndpointResults } from '../../shared/commands/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { otherInstance, startRestHost, type RestHost } from '../helpers/rest-host.js';

// Issue 17, part 3: the query pool through PgBouncer in transaction mode
// (CEX_DB_POOLER=transaction: no prepared statements), the LISTEN connection
// on DATABASE_LISTEN_URL, straight to Postgres. Two server connections serve
// every query of the host: waiters, writes, reads, batches all work, and a
// sync waiter is still woken by a result another instance records.

let db: TestDatabase;
let bouncer: PgBouncer;
let host: RestHost;
let recorder: Runtime;

beforeAll(async () => {
  db = await createTestDatabase();
  bouncer = await startPgBouncer(db.url, 'transaction', 2);
  host = await startRestHost(
    { ...db, url: bouncer.urlFor(db.url) },
    { DATABASE_LISTEN_URL: db.url, CEX_DB_POOLER: 'transaction', CEX_DB_POOL_MAX: '8' },
  );
  recorder = otherInstance(db);
}, 60_000);
afterAll(async () => {
  await host?.stop();
  await recorder?.shutdown();
  await bouncer?.stop();
  await db?.drop();
});

const api = () => `${host.url}/api/v1/endpoints`;

describe('through PgBouncer in transaction mode', () => {
  it('creates, lists and reads commands with many connections sharing two server connections', async () => {
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`${api()}/pool-${i % 4}/commands/reboot?awaitTimeout=0`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `{"n":${i}}`,
        }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual(Array(40).fill(202));
    await Promise.all(created.map((r) => r.body?.cancel()));
    const one = await fetch(`${api()}/pool-0/commands/reboot/1`);
    expect(one.status).toBe(200);
    const list = await fetch(`${api()}/commands?endpointId=pool-1&endpointId=pool-2`);
    expect(list.status).toBe(200);
    const lists = (await list.json()) as { commands: unknown[] }[];
    expect(lists.map((l) => l.commands.length)).toEqual([10, 10]);
    const batch = await fetch(`${api()}/commands/blink/batch/by-endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpointIds: ['pool-0', 'pool-1', 'pool-9'] }),
    });
    expect(batch.status).toBe(202);
  });

  it('wakes a sync waiter through the LISTEN connection on DATABASE_LISTEN_URL', async () => {
    const pending = fetch(`${api()}/pool-sync/commands/reboot?awaitTimeout=20`, { method: 'POST' });
    let id: number | undefined;
    for (let i = 0; i < 500 && id === undefined; i++) {
      [{ id } = { id: undefined }] = await db.sql<{ id: number }[]>`SELECT command_id AS id FROM commands WHERE endpoint_id = 'pool-sync'`;
      if (id === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    await recordEndpointResults(recorder, 'pool-sync', 'reboot', [{ commandId: id!, statusCode: 200, payload: { via: 'pooler' } }], null);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ via: 'pooler' });
    // The listener is a direct session: it shows up under its own name in pg_stat_activity.
    const [listener] = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cex-rest-test-listener'`;
    expect(listener!.n).toBe(1);
  });
});
