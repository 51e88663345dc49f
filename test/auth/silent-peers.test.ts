/**
 * Peers that never answer: Tekton and the Tenant Manager accept the
 * connection and say nothing. The configured timeout holds (CEX closes each
 * request itself, then retries), /readyz names the missing peer among its
 * dependencies (and stays 200: readiness follows what the pod itself can do,
 * so a peer's outage never takes every pod out of rotation), and the
 * dependency comes back by itself once the peer answers. The timeout is short
 * here (CEX_PEER_TIMEOUT_MS; production 5 s). The endpoint registry (20/EFMP)
 * is the batch's peer: test/batch/filter.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniqueInstanceName } from '../helpers/nats.js';
import { startIssuer, startTekton, startTenantManager } from '../helpers/peers.js';
import { startRestHost } from '../helpers/rest-host.js';
import { waitUntil } from '../helpers/wait.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const readiness = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  const body = (await res.json()) as { dependencies: Record<string, boolean> };
  return { status: res.status, dependencies: body.dependencies };
};

describe('peers that never answer', () => {
  it('Tekton: each fetch is given up after the timeout and retried; reported down (tekton: false) until Tekton answers', async () => {
    const instance = uniqueInstanceName();
    const tekton = await startTekton(instance, { meter: { versions: ['meter-v1'] } });
    tekton.hang = true;
    const host = await startRestHost(db, {
      KAA_TEKTON_ENABLED: 'true',
      KAA_TEKTON_URL: tekton.url,
      CEX_INSTANCE_NAME: instance,
      CEX_PEER_TIMEOUT_MS: '300',
    });
    try {
      // Two fetches abandoned by CEX: the timeout held, and it tried again.
      await waitUntil(() => tekton.abandoned >= 2, 'two fetches given up');
      expect(await readiness(host.url)).toMatchObject({ status: 200, dependencies: { tekton: false } });
      tekton.hang = false;
      await waitUntil(async () => (await readiness(host.url)).dependencies.tekton === true, 'Tekton up once it answers');
      expect(await readiness(host.url)).toMatchObject({ status: 200, dependencies: { tekton: true } });
    } finally {
      await host.stop();
      await tekton.close();
    }
  });

  it('Tenant Manager: reported down (tenants: false) and requests answered 503 TENANTS_UNAVAILABLE (retry), until it answers', async () => {
    const issuer = await startIssuer('silent-tm');
    const tm = await startTenantManager([{ id: 'tenant-s', issuer: issuer.issuer }]);
    tm.hang = true;
    const host = await startRestHost(db, { CEX_AUTH: 'on', TENANT_MANAGER_URL: tm.url, CEX_PEER_TIMEOUT_MS: '300' });
    const token = `Bearer ${await issuer.sign({ scope: 'endpoint:read' })}`;
    const list = () => fetch(`${host.url}/api/v1/endpoints/commands?endpointId=s-1`, { headers: { authorization: token } });
    try {
      await waitUntil(() => tm.abandoned >= 2, 'two tenant fetches given up');
      expect(await readiness(host.url)).toMatchObject({ status: 200, dependencies: { tenants: false } });
      const refused = await list();
      // Not a 401: the token may well be valid; CEX cannot tell before the
      // first tenant list arrived, so the caller is told to retry.
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { code: string }).code).toBe('TENANTS_UNAVAILABLE');
      tm.hang = false;
      await waitUntil(async () => (await readiness(host.url)).dependencies.tenants === true, 'Tenant Manager up once it answers');
      expect((await list()).status).toBe(200);
    } finally {
      await host.stop();
      await Promise.all([tm.close(), issuer.close()]);
    }
  });
});
