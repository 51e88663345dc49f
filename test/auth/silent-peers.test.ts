/**
 * Peers that never answer: Tekton and the Tenant Manager accept the
 * connection and say nothing. The configured timeout holds (CEX closes each
 * request itself, then retries), readiness says which peer is missing, and
 * CEX becomes ready by itself once the peer answers. The timeout is short
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
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, boolean> }).checks };
};

describe('peers that never answer', () => {
  it('Tekton: each fetch is given up after the timeout and retried; not ready (tekton: false) until Tekton answers', async () => {
    const instance = uniqueInstanceName();
    const tekton = await startTekton(instance, { meter: { versions: ['meter-v1'] } });
    tekton.hang = true;
    const host = await startRestHost(db, { KAA_TEKTON_ENABLED: 'true', KAA_TEKTON_URL: tekton.url, CEX_INSTANCE_NAME: instance, CEX_PEER_TIMEOUT_MS: '300' });
    try {
      // Two fetches abandoned by CEX: the timeout held, and it tried again.
      await waitUntil(() => tekton.abandoned >= 2, 'two fetches given up');
      expect(await readiness(host.url)).toMatchObject({ status: 503, checks: { tekton: false } });
      tekton.hang = false;
      await waitUntil(async () => (await readiness(host.url)).status === 200, 'ready once Tekton answers');
      expect(await readiness(host.url)).toMatchObject({ checks: { tekton: true } });
    } finally {
      await host.stop();
      await tekton.close();
    }
  });

  it('Tenant Manager: not ready (tenants: false) and tokens of its tenants refused, until it answers', async () => {
    const issuer = await startIssuer('silent-tm');
    const tm = await startTenantManager([{ id: 'tenant-s', issuer: issuer.issuer }]);
    tm.hang = true;
    const host = await startRestHost(db, { CEX_AUTH: 'on', TENANT_MANAGER_URL: tm.url, CEX_PEER_TIMEOUT_MS: '300' });
    const token = `Bearer ${await issuer.sign({ scope: 'endpoint:read' })}`;
    const list = () => fetch(`${host.url}/api/v1/endpoints/commands?endpointId=s-1`, { headers: { authorization: token } });
    try {
      await waitUntil(() => tm.abandoned >= 2, 'two tenant fetches given up');
      expect(await readiness(host.url)).toMatchObject({ status: 503, checks: { tenants: false } });
      const refused = await list();
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { code: string }).code).toBe('UNKNOWN_ISSUER');
      tm.hang = false;
      await waitUntil(async () => (await readiness(host.url)).status === 200, 'ready once the Tenant Manager answers');
      expect((await list()).status).toBe(200);
    } finally {
      await host.stop();
      await Promise.all([tm.close(), issuer.close()]);
    }
  });
});
