import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testNatsUrl } from '../helpers/nats.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { processAlive, removeEmbeddedPostgresData } from '../../shared/devstack/index.js';
import { waitUntil } from '../helpers/wait.js';
import { startSimulator } from '../../shared/simulator/index.js';

describe('dev host on given DATABASE_URL and NATS_URL', () => {
  let db: TestDatabase;
  let host: DevHost;
  beforeAll(async () => {
    db = await createTestDatabase();
    host = await startDevHost({ DATABASE_URL: db.url, NATS_URL: testNatsUrl(), CEX_INSTANCE_NAME: 'cex-devhost-test' });
  });
  afterAll(async () => {
    await host?.stop('SIGKILL');
    await db.drop();
  });

  it('serves the operations routes', async () => {
    const ready = await fetch(`${host.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { migrations: true, nats: true }, dependencies: { postgres: true } });
    expect(await (await fetch(`${host.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${host.url}/metrics`)).text();
    expect(metrics).toContain('cex_http_request_duration_seconds');
    expect(metrics).toContain('process_resident_memory_bytes');
    const openapi = (await (await fetch(`${host.url}/openapi.json`)).json()) as { openapi: string };
    expect(openapi.openapi).toBe('3.1.0');
  });

  it("hands the bridge's events to its own units in process: the device path works, with no HTTP request to /units", async () => {
    const sim = await startSimulator({
      natsUrl: testNatsUrl(),
      cexInstanceName: 'cex-devhost-test',
      kpcInstanceName: 'kpc',
      endpointIds: ['local-forward-1'],
      pollOnStart: false,
    });
    try {
      const res = await fetch(`${host.url}/api/v1/endpoints/local-forward-1/commands/reboot?awaitTimeout=20`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"n":7}',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ n: 7 });
      await sim.idle();
      expect(sim.stats().resultsAccepted).toBe(1);
    } finally {
      await sim.stop();
    }
    const metrics = await (await fetch(`${host.url}/metrics`)).text();
    expect(metrics).toMatch(/cex_bridge_forward_duration_seconds_count\{target="esp-inbound",outcome="answered"\} [1-9]/);
    expect(metrics).not.toMatch(/cex_http_request_duration_seconds_count\{[^}]*route="\/units"/);
  });

  it('answers unknown routes with problem+json', async () => {
    const res = await fetch(`${host.url}/api/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', title: 'Not Found' });
  });
});

describe('dev host with nothing configured (make run on a fresh machine)', () => {
  let dataDir: string;
  beforeAll(() => {
    // Not created here: the host creates it (searchable by the postgres OS user) as on a fresh clone.
    dataDir = path.join(process.cwd(), '.data', `devhost-${randomBytes(4).toString('hex')}`);
  });
  afterAll(async () => {
    await removeEmbeddedPostgresData(path.join(dataDir, 'pg'));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts embedded Postgres and nats-server, becomes ready, restarts on its data, and SIGTERM stops everything', async () => {
    for (let run = 0; run < 2; run++) {
      const host = await startDevHost({ CEX_DATA_DIR: dataDir });
      const ready = (await (await fetch(`${host.url}/readyz`)).json()) as {
        checks: Record<string, boolean>;
        dependencies: Record<string, boolean>;
      };
      expect(ready.checks).toEqual({ migrations: true, nats: true });
      expect(ready.dependencies).toEqual({ postgres: true });
      const log = host.output();
      expect(log).toContain('embedded Postgres started');
      expect(log).toContain('local nats-server started');
      expect(log).toContain('CEX_AUTH=off');
      // The second start finds the schema applied and applies nothing.
      if (run === 1) expect(log).not.toContain('migration applied');
      const pids = [...log.matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1]));
      expect(pids.length).toBeGreaterThanOrEqual(2);
      expect(await host.stop('SIGTERM')).toBe(0);
      // Its children (Postgres, nats-server) are reaped by the system a moment after they exit.
      await waitUntil(() => pids.every((pid) => !processAlive(pid)), `the children ${pids.join(', ')} gone`);
    }
  }, 120_000);
});
