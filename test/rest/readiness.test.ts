import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';

// Issue 17, part 5: readiness is what the pod itself can do (the process is
// up, the migrations were seen once). A Postgres failover or a Tenant Manager
// outage is a dependency's health: it shows in /readyz's body and in
// cex_dependency_up, and the requests that need it answer 503, but it does
// not take every pod of every function out of service at once.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const readyz = async (host: RestHost) => {
  const res = await fetch(`${host.url}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; checks: Record<string, boolean>; dependencies: Record<string, boolean> },
  };
};
const metrics = async (host: RestHost) => (await fetch(`${host.url}/metrics`)).text();

describe('Postgres gone after start', () => {
  let pooler: PgBouncer;
  let host: RestHost;
  beforeAll(async () => {
    // Every connection of the host goes through this pooler: stopping it is Postgres vanishing.
    pooler = await startPgBouncer(db.url, 'session', 10);
    const url = pooler.urlFor(db.url);
    host = await startRestHost({ ...db, url }, { DATABASE_LISTEN_URL: url });
  });
  afterAll(async () => {
    await host?.stop();
    await pooler?.stop();
  });

  it('keeps the pod ready, reports postgres down as a dependency, and answers requests 503', async () => {
    expect(await readyz(host)).toMatchObject({ status: 200, body: { checks: { migrations: true }, dependencies: { postgres: true } } });
    expect(await metrics(host)).toMatch(/^cex_dependency_up\{dependency="postgres"\} 1$/m);

    await pooler.stop();

    expect(await readyz(host)).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { migrations: true }, dependencies: { postgres: false } },
    });
    expect(await metrics(host)).toMatch(/^cex_dependency_up\{dependency="postgres"\} 0$/m);
    const res = await fetch(`${host.url}/api/v1/endpoints/e-1/commands/reboot?awaitTimeout=0`, { method: 'POST' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('DATABASE_UNAVAILABLE');
  }, 60_000);
});

describe('Tenant Manager unreachable from the start', () => {
  let host: RestHost;
  beforeAll(async () => {
    host = await startRestHost(db, { CEX_AUTH: 'on', TENANT_MANAGER_URL: 'http://127.0.0.1:1', CEX_TENANT_REFRESH_SECONDS: '3600' });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('is ready (a cold start is not blocked), reports tenants down, and answers a token 503 rather than judge it', async () => {
    expect(await readyz(host)).toMatchObject({ status: 200, body: { dependencies: { postgres: true, tenants: false } } });
    expect(await metrics(host)).toMatch(/^cex_dependency_up\{dependency="tenants"\} 0$/m);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const token = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: 'https://issuer.example/realms/t1', exp: Math.floor(Date.now() / 1000) + 60 })}.c2ln`;
    const res = await fetch(`${host.url}/api/v1/endpoints/e-1/commands/reboot/1`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('TENANTS_UNAVAILABLE');
  }, 30_000);
});
