import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';
import { startIssuer, startTenantManager, type Issuer, type TenantManager } from '../helpers/peers.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { encodeTenantUpdatedEvent, eventSubject } from '../../shared/protocol/index.js';

/**
 * 21/TLE `updated` across two instances on one database: the dev host (its
 * bridge receives the event from NATS and its scmp-config-reload handles it)
 * and another instance that only hears about it through NOTIFY cex_config.
 * Periodic tenant refreshes are pushed out of the way (a day), and the waits
 * below end long before the 30 s safety reload, so only the event can make
 * the tenant accepted.
 */

const READ = 'endpoint:read';
// Generous: the reload is one NOTIFY and one local HTTP fetch (well under a
// second); the deadline only has to stay below the 30 s safety reload.
const DEADLINE_MS = 10_000;

let db: TestDatabase;
let known: Issuer;
let newcomer: Issuer;
let tm: TenantManager;
let handling: DevHost;
let other: RestHost;
let nc: NatsConnection;

beforeAll(async () => {
  db = await createTestDatabase();
  [known, newcomer] = await Promise.all([startIssuer('known'), startIssuer('newcomer')]);
  tm = await startTenantManager([
    { id: 'tenant-known', issuer: known.issuer, status: 'AVAILABLE' },
    { id: 'tenant-new', issuer: newcomer.issuer, status: 'PROVISIONING' },
  ]);
  const env = { CEX_AUTH: 'on', TENANT_MANAGER_URL: tm.url, CEX_TENANT_REFRESH_SECONDS: '86400' };
  handling = await startDevHost({
    ...env,
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: uniqueInstanceName(),
    KPC_INSTANCE_NAME: uniquePrefix('kpc'),
  });
  // Readiness does not wait for the SUBs to reach the server; this line does.
  await waitFor(() => handling.output().includes('bridge subscribed'), 'the bridge subscribed');
  other = await startRestHost(db, env);
  nc = await connect({ servers: testNatsUrl(), name: 'cex-tle-test' });
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await other?.stop();
  await handling?.stop('SIGTERM');
  await Promise.all([known, newcomer, tm].map((p) => p?.close()));
  await db?.drop();
});

async function status(base: string, issuer: Issuer): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${base}/api/v1/endpoints/commands?endpointId=tle-probe`, {
    headers: { authorization: `Bearer ${await issuer.sign({ scope: READ })}` },
  });
  const body = (await res.json()) as { code?: string };
  return { status: res.status, code: body.code };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('21/TLE updated', () => {
  it('a tenant that became AVAILABLE is accepted on the instance that handled the event and on another one', async () => {
    for (const host of [handling.url, other.url]) {
      expect(await status(host, known)).toEqual({ status: 200, code: undefined });
      expect(await status(host, newcomer)).toEqual({ status: 401, code: 'UNKNOWN_ISSUER' });
    }

    tm.tenants[1]!.status = 'AVAILABLE';
    const correlationId = randomUUID();
    const event = encodeTenantUpdatedEvent({
      correlationId,
      timestamp: Date.now(),
      timeout: 0,
      tenantId: 'tenant-new',
      originatorReplicaId: 'tm-1',
    });
    nc.publish(eventSubject(uniquePrefix('tm'), 'tenant', 'lifecycle', 'updated'), event);
    await nc.flush();

    await waitFor(() => handling.output().includes(correlationId), 'the dev host handled the event');
    await waitFor(async () => (await status(handling.url, newcomer)).status === 200, 'accepted by the handling instance');
    await waitFor(async () => (await status(other.url, newcomer)).status === 200, 'accepted by the other instance');
    // Tenants of the refreshed list keep working.
    for (const host of [handling.url, other.url]) expect((await status(host, known)).status).toBe(200);
  });

  it('a cex_config hint carrying several keys reloads each of them', async () => {
    const late = await startIssuer('late');
    try {
      tm.tenants.push({ id: 'tenant-late', issuer: late.issuer, status: 'AVAILABLE' });
      expect(await status(other.url, late)).toEqual({ status: 401, code: 'UNKNOWN_ISSUER' });
      // What an instance sends for `updated`: two keys in one payload.
      await db.sql`SELECT pg_notify('cex_config', ${'revocations\ntenants'})`;
      await waitFor(async () => (await status(other.url, late)).status === 200, 'accepted after the two-key hint');
    } finally {
      await late.close();
    }
  });
});
