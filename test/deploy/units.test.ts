import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { EVENT_TYPES, type FunctionAnswer } from '../../shared/bridge/contract.js';
import { FUNCTION_TARGETS } from '../../shared/config/index.js';
import { createPool, quoteIdent } from '../../shared/db/index.js';
import {
  decodeExtensionData,
  encodeClientData,
  encodeCommandInvocationRequest,
  encodeTenantUpdatedEvent,
} from '../../shared/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { databaseUrl } from '../setup/provided.js';
import { createImageLayout, type ImageLayout } from './image-layout.js';
import { REPO_ROOT } from './kustomize.js';
import { postCloudEvent, startUnit, type UnitProcess } from './unit-process.js';

// Each function alone, as its Knative Service runs it: FUNCTION_TARGET=x
// node dist/bundles/launch.mjs (the image's CMD, which starts x's own
// bundle), from a directory laid out like the image (production
// node_modules only), on a migrated test database. Every unit
// answers the operations routes and one thing of its own, then stops on
// SIGTERM with exit code 0. Cold start is a speed figure: `make bench`
// measures it (bench/cold-start.ts), no test asserts it.

/** The metric families issue 7 asks every unit to expose (shared/metrics). */
const METRIC_FAMILIES = [
  'cex_http_request_duration_seconds',
  'cex_commands_created_total',
  'cex_commands_executed_total',
  'cex_commands_expired_total',
  'cex_pushes_total',
  'cex_sync_waiters',
  'cex_listener_reconnects_total',
  'cex_outbox_lag_seconds',
  'cex_bridge_forward_duration_seconds',
  'cex_internal_requests_refused_total',
  'cex_dependency_up',
  'process_resident_memory_bytes',
];

interface Context {
  unit: UnitProcess;
  instance: string;
}

/** What each target must do beyond the operations routes. Runs in this order, on one database. */
const TABLE: { target: string; http: boolean; check: (c: Context) => Promise<void> }[] = [
  {
    target: 'command-submit',
    http: true,
    async check({ unit }) {
      // The ingress strips /cex and sets X-Forwarded-Prefix (knative/base/ingress.yaml).
      const res = await fetch(`${unit.url}/api/v1/endpoints/e-deploy/commands/reboot?awaitTimeout=0`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-prefix': '/cex' },
        body: JSON.stringify({ delay: 5 }),
      });
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toBe('/cex/api/v1/endpoints/e-deploy/commands/reboot/1');
      expect(await res.json()).toMatchObject({ commandId: 1, status: 'PENDING', requestPayload: { delay: 5 } });
      // 12/CIP from the bridge, on POST /cloudevents.
      const request = {
        correlationId: randomUUID(),
        timestamp: Date.now(),
        timeout: 60_000,
        endpointId: 'e-deploy',
        commandType: 'reboot',
        commandId: 1000,
        payload: Buffer.from('{"delay":1}'),
      };
      const ce = await postCloudEvent(
        `${unit.url}/cloudevents`,
        EVENT_TYPES.cipCommandRequest,
        encodeCommandInvocationRequest(request),
        {
          natssubject: 'kaa.v1.service.cex.cip.command-request',
          natsreply: 'kaa.v1.replica.caller-1.cip.CommandInvocationResult',
        },
        TEST_INTERNAL_TOKEN,
      );
      expect([200, 204], ce.text).toContain(ce.status);
      // Its log line carries the request's correlation id and the command's key.
      const logged = await eventually(() => unit.logLines().find((l) => l.msg === '12/CIP command created'));
      expect(logged).toMatchObject({
        correlationId: request.correlationId,
        endpointId: 'e-deploy',
        commandType: 'reboot',
        commandId: 1000,
      });
    },
  },
  {
    target: 'command-lookup',
    http: true,
    async check({ unit }) {
      const one = await fetch(`${unit.url}/api/v1/endpoints/e-deploy/commands/reboot/1000`);
      expect(one.status).toBe(200);
      expect(await one.json()).toMatchObject({ commandId: 1000, status: 'PENDING', requestPayload: { delay: 1 } });
      const missing = await fetch(`${unit.url}/api/v1/endpoints/e-deploy/commands/reboot/999`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('application/problem+json');
    },
  },
  {
    target: 'history-listing',
    http: true,
    async check({ unit }) {
      const res = await fetch(`${unit.url}/api/v1/endpoints/commands?endpointId=e-deploy`);
      expect(res.status).toBe(200);
      const [list] = (await res.json()) as { endpointId: string; commands: { commandId: number }[] }[];
      expect(list!.endpointId).toBe('e-deploy');
      expect(list!.commands.map((c) => c.commandId)).toEqual([1000, 1]);
    },
  },
  {
    target: 'esp-inbound',
    http: false,
    async check({ unit, instance }) {
      // The endpoint asks for its outstanding `reboot` commands (11/CEP over 4/ESP).
      const poll = encodeClientData({
        correlationId: randomUUID(),
        timestamp: Date.now(),
        timeout: 0,
        appVersionName: 'app-v1',
        endpointId: 'e-deploy',
        resourcePath: '/command/reboot',
        requestId: 7,
        configName: null,
        payload: Buffer.from('{}'),
      });
      const ce = await postCloudEvent(
        unit.url,
        EVENT_TYPES.espClientData,
        poll,
        {
          natssubject: `kaa.v1.service.${instance}.esp.ClientData`,
          natsreply: 'kaa.v1.replica.kpc-1.esp.ExtensionData',
        },
        TEST_INTERNAL_TOKEN,
      );
      expect(ce.status, ce.text).toBe(200);
      const [message] = (JSON.parse(ce.text) as FunctionAnswer).publish;
      const answer = decodeExtensionData(Buffer.from(message!.data, 'base64'));
      expect(answer).toMatchObject({ statusCode: 200, requestId: 7, endpointId: 'e-deploy' });
      expect((JSON.parse(answer.payload!.toString('utf8')) as { id: number }[]).map((c) => c.id)).toEqual([1, 1000]);
    },
  },
  {
    target: 'scmp-config-reload',
    http: false,
    async check({ unit }) {
      const event = encodeTenantUpdatedEvent({
        correlationId: randomUUID(),
        timestamp: Date.now(),
        timeout: 0,
        tenantId: 'kaa',
        originatorReplicaId: 'tm-1',
      });
      const ce = await postCloudEvent(
        unit.url,
        EVENT_TYPES.tleUpdated,
        event,
        { natssubject: 'kaa.v1.events.tm.tenant.lifecycle.updated' },
        TEST_INTERNAL_TOKEN,
      );
      expect(ce.status, ce.text).toBe(204);
    },
  },
  {
    target: 'nats-bridge',
    http: false,
    async check({ unit }) {
      const ready = (await (await fetch(`${unit.url}/readyz`)).json()) as { checks: Record<string, boolean> };
      expect(ready.checks.nats).toBe(true);
    },
  },
  {
    // The operator console: static files, no REST API of its own. Last: the
    // esp-inbound check above needs the commands created first still outstanding.
    target: 'console',
    http: false,
    async check({ unit }) {
      const page = await fetch(`${unit.url}/console/endpoints/e-deploy`, { headers: { 'x-forwarded-prefix': '/cex' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<base href="/cex/console/">');
      const bundle = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)![1]!;
      const js = await fetch(`${unit.url}/console/${bundle}`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await (await fetch(`${unit.url}/console/config.json`)).json()).toEqual({ apiBase: '/api/v1', auth: { mode: 'off' } });
      expect((await fetch(`${unit.url}/api/v1/endpoints/commands?endpointId=e-deploy`)).status).toBe(404);
      expect(await (await fetch(`${unit.url}/metrics`)).text()).toMatch(
        /cex_http_request_duration_seconds_count\{unit="console",route="\/console",method="GET",status="200"\}/,
      );
    },
  },
];

// A deadline for a log line that may be slow to arrive on a busy machine, not a speed claim.
async function eventually<T>(probe: () => T | undefined, timeoutMs = 30_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('each unit alone, as the image runs it', () => {
  let layout: ImageLayout;
  let db: TestDatabase;
  let env: Record<string, string>;
  let instance: string;
  beforeAll(async () => {
    [layout, db] = await Promise.all([createImageLayout(), createTestDatabase()]);
    instance = uniqueInstanceName();
    env = {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      CEX_AUTH: 'off',
      CEX_INSTANCE_NAME: instance,
      CEX_SHUTDOWN_GRACE_MS: '5000',
      CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    };
  });
  afterAll(async () => {
    await layout?.remove();
    await db?.drop();
  });

  it('the table covers every FUNCTION_TARGET but the migrator', () => {
    expect(TABLE.map((t) => t.target).sort()).toEqual(FUNCTION_TARGETS.filter((t) => t !== 'migrate').sort());
  });

  it.each(TABLE.map((t) => [t.target, t] as const))(
    '%s serves its routes and the operations routes, then stops on SIGTERM',
    async (target, t) => {
      const unit = await startUnit(layout, target, env);
      try {
        const health = await fetch(`${unit.url}/healthz`);
        expect(health.status).toBe(200);
        expect(await health.json()).toEqual({ status: 'ok' });
        const ready = (await (await fetch(`${unit.url}/readyz`)).json()) as {
          status: string;
          checks: Record<string, boolean>;
          dependencies: Record<string, boolean>;
        };
        expect(ready.status).toBe('ready');
        expect(ready.checks).toMatchObject({ migrations: true });
        expect(ready).toMatchObject({ dependencies: { postgres: true } });

        await t.check({ unit, instance });

        const metrics = await fetch(`${unit.url}/metrics`);
        expect(metrics.status).toBe(200);
        const text = await metrics.text();
        for (const family of METRIC_FAMILIES) expect(text, family).toMatch(new RegExp(`^# TYPE ${family} `, 'm'));
        if (t.http)
          expect(text).toMatch(
            /cex_http_request_duration_seconds_count\{unit="[\w-]+",route="\/api\/v1\/[^"]+",method="\w+",status="\d{3}"\}/,
          );

        const openapi = (await (await fetch(`${unit.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
        expect(openapi.openapi).toBe('3.1.0');
        if (t.http) expect(Object.keys(openapi.paths).length).toBeGreaterThan(0);

        // Structured logs: one JSON object a line, naming the unit.
        const lines = unit.logLines();
        expect(lines.find((l) => l.msg === 'CEX serving')).toMatchObject({ unit: target, units: [target] });
      } finally {
        const code = await unit.stop('SIGTERM', 15_000);
        expect(code, unit.output()).toBe(0);
      }
      expect(unit.output()).toContain('"msg":"stopped"');
    },
    90_000,
  );
});

describe('FUNCTION_TARGET=migrate', () => {
  const adminUrl = () => inject('pgAdminUrl');
  let layout: ImageLayout;
  let name: string;
  beforeAll(async () => {
    layout = await createImageLayout();
    name = `${inject('pgDbPrefix')}_empty_${randomBytes(4).toString('hex')}`;
    const admin = createPool(adminUrl(), { max: 1, applicationName: 'cex-test-deploy' });
    try {
      await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
    } finally {
      await admin.end();
    }
  });
  afterAll(async () => {
    await layout?.remove();
    const admin = createPool(adminUrl(), { max: 1, applicationName: 'cex-test-deploy' });
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });

  it('applies every migration to an empty database and exits 0; a second run applies nothing', async () => {
    const url = databaseUrl(adminUrl(), name);
    const files = readdirSync(path.join(REPO_ROOT, 'migrations')).filter((f) => /^\d+_.*\.sql$/.test(f));
    const first = await startUnit(layout, 'migrate', { DATABASE_URL: url }, { waitReady: false });
    expect(await first.exited, first.output()).toBe(0);
    expect(first.logLines().find((l) => l.msg === 'migrations applied')).toMatchObject({ unit: 'migrate' });
    const sql = createPool(url, { max: 1, applicationName: 'cex-test-deploy' });
    try {
      const rows = await sql<{ version: number }[]>`SELECT version FROM cex_migrations ORDER BY version`;
      expect(rows.length).toBe(files.length);
    } finally {
      await sql.end();
    }
    const second = await startUnit(layout, 'migrate', { DATABASE_URL: url }, { waitReady: false });
    expect(await second.exited, second.output()).toBe(0);
    expect(second.output()).toContain('schema already current');
  }, 60_000);

  it('without DATABASE_URL exits non-zero and says why', async () => {
    const run = await startUnit(layout, 'migrate', {}, { waitReady: false });
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain('DATABASE_URL');
  });
});
