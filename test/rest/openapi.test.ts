import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { UNITS } from '../../functions/index.js';
import { connect, createServer, type Socket } from 'node:net';
import { freePort } from '../../shared/devstack/index.js';
import { waitUntil } from '../helpers/wait.js';

let db: TestDatabase;
let host: RestHost;
beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
});
afterAll(async () => {
  await host.stop();
  await db.drop();
});

type Operation = {
  operationId: string;
  parameters: { name: string; in: string; schema: Record<string, unknown> }[];
  responses: Record<string, unknown>;
};
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe('/openapi.json', () => {
  it('lists exactly the routes the host serves, generated from their zod schemas', async () => {
    const doc = (await (await fetch(`${host.url}/openapi.json`)).json()) as Doc;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const routes = UNITS.flatMap((u) => u.routes ?? []);
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of routes) {
      const op = doc.paths[route.path]![route.method.toLowerCase()]!;
      expect(op.operationId).toBe(route.operationId);
      const queryNames = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
      expect(queryNames).toEqual(Object.keys(route.query?.shape ?? {}));
      for (const p of op.parameters.filter((x) => x.in === 'query')) expect(p.schema['x-error-code']).toMatch(/^[A-Z_]+$/);
      expect(op.responses.default).toBeDefined();
    }
  });

  it('passes an OpenAPI 3.1 validator: every $ref resolves, no $schema inside schemas', async () => {
    const doc = (await (await fetch(`${host.url}/openapi.json`)).json()) as OpenAPIV3_1.Document;
    const text = JSON.stringify(doc);
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
    expect(text).not.toContain('"$schema"');
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(ref).toMatch(/^#\/components\/schemas\/\w+$/);
    expect(Object.keys(doc.components?.schemas ?? {})).toEqual(expect.arrayContaining(['CommandDescriptor', 'Problem', 'BatchTask']));
  });

  it('documents the Idempotency-Key header, the 200 and 202 of invoke with their headers, and specific errors as problem+json', async () => {
    const doc = (await (await fetch(`${host.url}/openapi.json`)).json()) as OpenAPIV3_1.Document;
    const invoke = doc.paths!['/api/v1/endpoints/{endpointId}/commands/{commandType}']!.post!;
    const params = invoke.parameters as OpenAPIV3_1.ParameterObject[];
    expect(params.find((p) => p.name === 'Idempotency-Key')).toMatchObject({ in: 'header', required: false });
    const responses = invoke.responses as Record<string, OpenAPIV3_1.ResponseObject>;
    expect(Object.keys(responses['200']!.headers ?? {})).toEqual([
      'Location',
      'X-Command-Id',
      'X-Command-Status-Code',
      'X-Command-Reason-Phrase',
    ]);
    expect(responses['200']!.content?.['application/json']).toBeDefined();
    expect(Object.keys(responses['202']!.headers ?? {})).toEqual(['Location']);
    expect(responses['202']!.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/CommandDescriptor' });
    for (const status of ['400', '401', '403', '404', '409', '413', '415', '500', '503']) {
      expect(responses[status]?.content?.['application/problem+json']?.schema, status).toEqual({ $ref: '#/components/schemas/Problem' });
    }
    expect(responses['503']!.headers?.['Retry-After']).toBeDefined();
    const byFilter = doc.paths!['/api/v1/endpoints/commands/{commandType}/batch']!.post!.responses as Record<
      string,
      OpenAPIV3_1.ResponseObject
    >;
    expect(Object.keys(byFilter)).toEqual(expect.arrayContaining(['202', '502', '504']));
    expect(byFilter['202']!.headers?.Location).toBeDefined();
    // Integer parameters are documented as integers, with their range.
    expect(params.find((p) => p.name === 'awaitTimeout')?.schema).toMatchObject({ type: 'integer', minimum: 0, maximum: 60 });
  });

  it('documents only routes that are really served (none answers ROUTE_NOT_FOUND or 405)', async () => {
    const doc = (await (await fetch(`${host.url}/openapi.json`)).json()) as Doc;
    for (const [path, ops] of Object.entries(doc.paths)) {
      const concrete = path.replace(/\{commandId\}/, '1').replace(/\{(\w+)\}/g, 'x1');
      for (const method of Object.keys(ops)) {
        const res = await fetch(`${host.url}${concrete}?awaitTimeout=0`, { method: method.toUpperCase() });
        // A live status stream (SSE) never ends by itself: its 200 is the answer.
        const streaming = res.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
        if (streaming) await res.body?.cancel();
        const body = res.status === 204 || streaming ? {} : ((await res.json()) as { code?: string });
        expect(body.code, `${method} ${concrete}`).not.toBe('ROUTE_NOT_FOUND');
        expect(res.status, `${method} ${concrete}`).not.toBe(405);
      }
    }
  });
});

describe('Postgres down', () => {
  it('answers 503 problem+json, stores nothing, and recovers by itself when it is back', async () => {
    // The host reaches Postgres through a proxy on a port where, at first, nothing listens.
    const port = await freePort();
    const target = new URL(db.url);
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connect({ host: target.hostname, port: Number(target.port) });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined).on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(port);
    const down = await startRestHost({ ...db, url: viaProxy.toString() });
    try {
      const res = await fetch(`${down.url}/api/v1/endpoints/pg-down-1/commands/reboot?awaitTimeout=0`, { method: 'POST' });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe('DATABASE_UNAVAILABLE');
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
      expect(await db.sql`SELECT 1 FROM commands WHERE endpoint_id = 'pg-down-1'`).toHaveLength(0);
      // Postgres is back: the same process becomes ready and stores again, with no restart.
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      await waitUntil(async () => (await fetch(`${down.url}/readyz`)).status === 200, 'ready once Postgres is back');
      const again = await fetch(`${down.url}/api/v1/endpoints/pg-down-1/commands/reboot?awaitTimeout=0`, { method: 'POST' });
      expect(again.status).toBe(202);
      expect(await db.sql`SELECT command_id FROM commands WHERE endpoint_id = 'pg-down-1'`).toEqual([{ command_id: 1 }]);
    } finally {
      await down.stop();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('reconnects after its connections were cut, storing only what it answered 202', async () => {
    await db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = current_database() AND application_name = 'cex-rest-test'`;
    const statuses: number[] = [];
    for (let i = 0; i < 3 && !statuses.includes(202); i++) {
      statuses.push((await fetch(`${host.url}/api/v1/endpoints/e-2/commands/reboot?awaitTimeout=0`, { method: 'POST' })).status);
    }
    expect(statuses.at(-1)).toBe(202);
    expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
    expect(await db.sql`SELECT command_id FROM commands WHERE endpoint_id = 'e-2'`).toEqual([{ command_id: 1 }]);
  });
});
