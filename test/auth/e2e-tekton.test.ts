/**
 * Tekton on the endpoint side, end to end over real NATS through the dev
 * host: unlisted app versions are refused with 1/KP 404, a version listed
 * later is accepted after the 17/SCMP event (by NOTIFY, sooner than the
 * 30 s safety reload), and commands
 * created over 12/CIP belong to the tenant of the endpoint's application.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSubject, encodeBroadcastConfigurationUpdateEvent } from '../../shared/protocol/index.js';
import { startTekton, type Tekton } from '../helpers/peers.js';
import { uniqueInstanceName } from '../helpers/nats.js';
import { eventually, startE2e, type E2e } from '../endpoint/e2e-host.js';

let tekton: Tekton;
let e2e: E2e;
const cex = uniqueInstanceName();

beforeAll(async () => {
  tekton = await startTekton(cex, { meter: { versions: ['meter-v1'] }, lamp: { tenantId: 'tenant-b', versions: ['lamp-v1'] } });
  e2e = await startE2e({ CEX_INSTANCE_NAME: cex, KAA_TEKTON_ENABLED: 'true', KAA_TEKTON_URL: tekton.url, KAA_SCMP_PROVIDER: 'tekton' });
}, 90_000);
afterAll(async () => {
  await e2e?.close();
  await tekton?.close();
});

describe('Tekton on the endpoint side', () => {
  it('refuses an unlisted app version with 404 and accepts it after the SCMP event, with one Tekton fetch', async () => {
    const sim = await e2e.simulator({ appVersionName: 'meter-v9', pollOnStart: false, announceConnectivity: false, observe: false });
    const [endpoint] = sim.endpointIds;
    const refused = await sim.poll(endpoint!, 'reboot', null);
    expect(refused.statusCode).toBe(404);
    expect(JSON.parse(Buffer.from(refused.payload!).toString())).toMatchObject({ statusCode: 404 });

    const listed = await e2e.simulator({ appVersionName: 'meter-v1', pollOnStart: false, announceConnectivity: false, observe: false });
    expect((await listed.poll(listed.endpointIds[0]!, 'reboot', null)).statusCode).toBe(200);

    tekton.apps.meter!.versions.push('meter-v9');
    const hitsBefore = tekton.hits.get('/api/v1/app-configs') ?? 0;
    e2e.nc.publish(
      eventSubject('tekton', 'service', 'configuration', 'upsert'),
      encodeBroadcastConfigurationUpdateEvent({
        correlationId: 'scmp-1',
        timestamp: Date.now(),
        originatorReplicaId: 'tekton-0',
        tenantID: null,
        appName: 'meter',
        appVerName: null,
      }),
    );
    await eventually(async () => ((await sim.poll(endpoint!, 'reboot', null)).statusCode === 200 ? true : undefined), 15_000, 'accepted');
    expect((tekton.hits.get('/api/v1/app-configs') ?? 0) - hitsBefore).toBe(1);
  });

  it("creates 12/CIP commands in the tenant of the endpoint's application", async () => {
    const sim = await e2e.simulator({ appVersionName: 'lamp-v1', pollOnStart: false, announceConnectivity: false, observe: false });
    const [endpoint] = sim.endpointIds;
    await sim.poll(endpoint!, 'toggle', null); // CEX learns the endpoint's app version
    const results = await e2e.cip({ endpointId: endpoint!, commandType: 'toggle', commandId: 5, timeout: 200 }, 15_000);
    expect(results).toHaveLength(1); // executed by the simulator, or expired: either way answered once
    const [row] = await e2e.db.sql`SELECT tenant_id, application_name FROM commands WHERE endpoint_id = ${endpoint!}`;
    expect(row).toMatchObject({ tenant_id: 'tenant-b' });
  });
});
