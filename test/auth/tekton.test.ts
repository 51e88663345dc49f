import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { internalAuthHeader } from '../helpers/internal.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { startTekton, type Tekton } from '../helpers/peers.js';
import { uniqueInstanceName } from '../helpers/nats.js';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import { encodeBroadcastConfigurationUpdateEvent, encodeServiceSpecificConfigurationUpdateEvent } from '../../shared/protocol/index.js';
import { noteAppVersion } from '../../shared/store/index.js';

let db: TestDatabase;
let tekton: Tekton;
let host: RestHost;
let second: RestHost;
const instance = uniqueInstanceName();

const configHits = () => tekton.hits.get('/api/v1/app-configs') ?? 0;

/** Polls `check` until true; `ms` is a deadline for failing, not a claim about speed. */
async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

function postEvent(base: string, type: string, data: Buffer) {
  return fetch(`${base}/units/scmp-config-reload`, {
    method: 'POST',
    headers: {
      ...internalAuthHeader(),
      'ce-specversion': '1.0',
      'ce-id': `${Math.random()}`,
      'ce-source': 'test',
      'ce-type': type,
      'content-type': 'application/avro',
    },
    body: data,
  });
}
const upsert = () =>
  encodeBroadcastConfigurationUpdateEvent({
    correlationId: 'c',
    timestamp: Date.now(),
    originatorReplicaId: 'tekton-1',
    tenantID: null,
    appName: null,
    appVerName: null,
  });

beforeAll(async () => {
  db = await createTestDatabase();
  tekton = await startTekton(instance, {
    meter: { tenantId: 'tenant-a', versions: ['meter-v1', 'meter-v2'] },
    lamp: { versions: ['lamp-v1'] },
  });
  // The coalescing test holds Tekton's answer until 100 events arrived; a
  // peer timeout far above that keeps CEX from abandoning the held fetch (and
  // counting a retry as a second fetch) on a loaded machine.
  const env = { KAA_TEKTON_ENABLED: 'true', KAA_TEKTON_URL: tekton.url, CEX_INSTANCE_NAME: instance, CEX_PEER_TIMEOUT_MS: '120000' };
  // Tekton is a dependency, not readiness (issue 17): wait for it to be loaded.
  const tektonUp = async (url: string) =>
    ((await (await fetch(`${url}/readyz`)).json()) as { dependencies: { tekton?: boolean } }).dependencies.tekton === true;
  host = await startRestHost(db, env);
  await until(() => tektonUp(host.url), 20_000);
  second = await startRestHost(db, env);
  await until(() => tektonUp(second.url), 20_000);
});
afterAll(async () => {
  await Promise.all([host.stop(), second.stop()]);
  await tekton.close();
  await db.drop();
});

describe('Tekton configuration', () => {
  it('is fetched once at start, and read from Postgres by the second instance', async () => {
    expect(configHits()).toBe(1);
    expect(tekton.hits.get('/api/v1/applications')).toBe(1);
    const t = second.rt.tenancy;
    // The application rule lives in SQL (cex_application_of); it reads the snapshot the first instance saved.
    const [row] = await second.rt.sql<{ app: string | null }[]>`SELECT cex_application_of('meter-v2', true) AS app`;
    expect(row!.app).toBe('meter');
    expect(t.tenantOfAppVersion('meter-v1')).toBe('tenant-a');
    expect(t.tenantOfAppVersion('lamp-v1')).toBe('kaa');
    expect(t.isKnownAppVersion('meter-v3')).toBe(false);
  });

  // The other instance learns it through NOTIFY cex_config: the deadline is
  // below its 30 s safety reload, which started with it moments ago.
  it('is fetched again on an SCMP upsert, and a newly listed version is known on the other instance by NOTIFY', async () => {
    const before = configHits();
    tekton.apps.meter!.versions.push('meter-v3');
    expect(second.rt.tenancy.isKnownAppVersion('meter-v3')).toBe(false);
    expect((await postEvent(host.url, EVENT_TYPES.scmpBroadcast, upsert())).status).toBe(204);
    expect(configHits()).toBe(before + 1);
    await until(() => second.rt.tenancy.isKnownAppVersion('meter-v3'), 15_000);
  });

  // Deterministic, whatever the load: Tekton holds the first fetch until all
  // 100 events reached CEX, so each of them joined that fetch (arrived within
  // its settle delay) or the one follow-up that every event arriving during a
  // fetch joins.
  it('coalesces a burst of 100 events into one or two fetches', async () => {
    const before = configHits();
    let release!: () => void;
    tekton.hold = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    const count = (req: { url?: string }) => void (req.url?.startsWith('/units/scmp-config-reload') && arrived++);
    // First in line: the host's own listener rewrites req.url for the unit.
    host.server.prependListener('request', count);
    try {
      const targeted = encodeServiceSpecificConfigurationUpdateEvent({
        correlationId: 'c',
        timestamp: Date.now(),
        tenantID: 'tenant-a',
        appName: 'meter',
        appVerName: null,
      });
      const answers = Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          postEvent(host.url, i % 2 ? EVENT_TYPES.scmpTargeted : EVENT_TYPES.scmpBroadcast, i % 2 ? targeted : upsert()),
        ),
      );
      await until(() => arrived === 100 && configHits() === before + 1, 30_000);
      release();
      tekton.hold = undefined;
      expect((await answers).every((r) => r.status === 204)).toBe(true);
    } finally {
      release();
      tekton.hold = undefined;
      host.server.off('request', count);
    }
    const fetches = configHits() - before;
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(fetches).toBeLessThanOrEqual(2);
  });

  it('answers 404 for the list of an application that is not listed, or listed for another tenant', async () => {
    expect((await fetch(`${host.url}/api/v1/endpoints/commands/lamp`)).status).toBe(200);
    const unknown = await fetch(`${host.url}/api/v1/endpoints/commands/toaster`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('APPLICATION_NOT_FOUND');
    // `meter` belongs to tenant-a; this caller (auth off) is tenant kaa.
    expect((await fetch(`${host.url}/api/v1/endpoints/commands/meter`)).status).toBe(404);
  });

  it("hides an endpoint of another tenant's application from invoke", async () => {
    await noteAppVersion(db.sql, 'meter-dev-1', 'meter-v1');
    const res = await fetch(`${host.url}/api/v1/endpoints/meter-dev-1/commands/reboot?awaitTimeout=0`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('ENDPOINT_NOT_FOUND');
    await noteAppVersion(db.sql, 'lamp-dev-1', 'lamp-v1');
    expect((await fetch(`${host.url}/api/v1/endpoints/lamp-dev-1/commands/reboot?awaitTimeout=0`, { method: 'POST' })).status).toBe(202);
  });

  it('rejects an event it cannot decode with 400 and keeps working', async () => {
    const res = await postEvent(host.url, EVENT_TYPES.scmpBroadcast, Buffer.from([1, 2, 3]));
    expect(res.status).toBe(400);
    expect((await postEvent(host.url, 'org.example.unknown', upsert())).status).toBe(400);
    expect((await fetch(`${host.url}/readyz`)).status).toBe(200);
  });
});

describe('readiness with Tekton enabled (issue 17: a dependency, not readiness)', () => {
  it('keeps the pod ready while Tekton is unreachable, reports it as a dependency, and answers 503 where Tekton is needed', async () => {
    const fresh = await createTestDatabase();
    const down = await startTekton('nobody', {});
    const name = uniqueInstanceName();
    const late = await startRestHost(fresh, { KAA_TEKTON_ENABLED: 'true', KAA_TEKTON_URL: down.url, CEX_INSTANCE_NAME: name });
    try {
      const first = await fetch(`${late.url}/readyz`);
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({
        status: 'ready',
        checks: { migrations: true },
        dependencies: { postgres: true, tekton: false },
      });
      expect(await (await fetch(`${late.url}/metrics`)).text()).toMatch(/^cex_dependency_up\{dependency="tekton"\} 0$/m);
      const list = await fetch(`${late.url}/api/v1/endpoints/commands/meter`);
      expect(list.status).toBe(503);
      expect(((await list.json()) as { code: string }).code).toBe('TEKTON_UNAVAILABLE');
      // Tekton starts answering for this instance: the dependency is up on the next retry, and so is the request.
      down.instanceName = name;
      down.apps.meter = { versions: ['meter-v1'] };
      await until(
        async () => ((await (await fetch(`${late.url}/readyz`)).json()) as { dependencies: { tekton: boolean } }).dependencies.tekton,
        20_000,
      );
      expect(await (await fetch(`${late.url}/metrics`)).text()).toMatch(/^cex_dependency_up\{dependency="tekton"\} 1$/m);
      expect((await fetch(`${late.url}/api/v1/endpoints/commands/meter`)).status).toBe(200);
    } finally {
      await late.stop();
      await down.close();
      await fresh.drop();
    }
  });
});
