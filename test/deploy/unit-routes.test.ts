import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import { encodeCommandInvocationRequest } from '../../shared/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { descriptor, openSse } from '../sse/client.js';
import { createImageLayout, type ImageLayout } from './image-layout.js';
import { postCloudEvent, startUnit, type UnitProcess } from './unit-process.js';

// The two Knative Services that serve part of a unit (CEX_UNIT_ROUTES), run
// as the image runs them: command-submit-events takes the bridge's 12/CIP
// CloudEvents and nothing else, command-lookup-streams serves the SSE
// streams and nothing else. Every other request gets 404 problem+json, so a
// misrouted request is told so rather than served by the wrong Service.

const ENDPOINT = 'e-split';
const COMMAND_ID = 4100;

/** A 404 problem+json ROUTE_NOT_FOUND, and nothing else. */
async function expectRouteNotFound(res: Response, what: string): Promise<void> {
  expect(res.status, what).toBe(404);
  expect(res.headers.get('content-type'), what).toBe('application/problem+json');
  expect(await res.json(), what).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' });
}

let layout: ImageLayout;
let db: TestDatabase;
let events: UnitProcess;
let streams: UnitProcess;

beforeAll(async () => {
  [layout, db] = await Promise.all([createImageLayout(), createTestDatabase()]);
  const env = {
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_AUTH: 'off',
    CEX_INSTANCE_NAME: uniqueInstanceName(),
    CEX_SHUTDOWN_GRACE_MS: '5000',
  };
  [events, streams] = await Promise.all([
    startUnit(layout, 'command-submit', { ...env, CEX_UNIT_ROUTES: 'events', CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN }),
    startUnit(layout, 'command-lookup', { ...env, CEX_UNIT_ROUTES: 'streams' }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([events?.stop('SIGKILL'), streams?.stop('SIGKILL')]);
  await layout?.remove();
  await db?.drop();
});

describe('FUNCTION_TARGET=command-submit CEX_UNIT_ROUTES=events (command-submit-events)', () => {
  it('takes a 12/CIP request on POST /cloudevents and creates the command', async () => {
    const request = encodeCommandInvocationRequest({
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: 600_000,
      endpointId: ENDPOINT,
      commandType: 'reboot',
      commandId: COMMAND_ID,
      payload: Buffer.from('{"delay":1}'),
    });
    const ce = await postCloudEvent(
      `${events.url}/cloudevents`,
      EVENT_TYPES.cipCommandRequest,
      request,
      { natssubject: 'kaa.v1.service.cex.cip.command-request' },
      TEST_INTERNAL_TOKEN,
    );
    expect([200, 204], ce.text).toContain(ce.status);
    const rows = await db.sql<{ status: string }[]>`
      SELECT status FROM commands WHERE endpoint_id = ${ENDPOINT} AND command_id = ${COMMAND_ID}`;
    expect(rows.map((r) => r.status)).toEqual(['PENDING']);
  });

  it('still refuses a CloudEvent without the internal credential', async () => {
    const ce = await postCloudEvent(`${events.url}/cloudevents`, EVENT_TYPES.cipCommandRequest, new Uint8Array([1, 2, 3]));
    expect(ce.status).toBe(401);
    expect(JSON.parse(ce.text)).toMatchObject({ code: 'INTERNAL_CREDENTIAL_MISSING' });
  });

  it('answers every REST route of command-submit 404 problem+json, storing nothing', async () => {
    const json = { 'content-type': 'application/json' };
    await expectRouteNotFound(
      await fetch(`${events.url}/api/v1/endpoints/${ENDPOINT}/commands/unlock?awaitTimeout=0`, {
        method: 'POST',
        headers: json,
        body: '{}',
      }),
      'invoke',
    );
    await expectRouteNotFound(
      await fetch(`${events.url}/api/v1/endpoints/commands/unlock/batch/by-endpoints`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ endpointIds: [ENDPOINT], payload: {} }),
      }),
      'batch by endpoints',
    );
    await expectRouteNotFound(await fetch(`${events.url}/api/v1/endpoints/${ENDPOINT}/commands/reboot/${COMMAND_ID}`), 'a read');
    // A CloudEvent anywhere but /cloudevents is no CloudEvent either.
    const elsewhere = await postCloudEvent(`${events.url}/`, EVENT_TYPES.cipCommandRequest, new Uint8Array(), {}, TEST_INTERNAL_TOKEN);
    expect(elsewhere.status).toBe(404);
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE command_type = 'unlock'`;
    expect(row!.n).toBe(0);
  });

  it('describes no REST route in /openapi.json, and says what it serves in its log', async () => {
    const openapi = (await (await fetch(`${events.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(openapi.paths).toEqual({});
    expect(events.logLines().find((l) => l.msg?.toString().startsWith('serving part of the unit'))).toMatchObject({
      unit: 'command-submit',
      unitRoutes: 'events',
      routes: [],
      cloudEvents: '/cloudevents',
    });
  });
});

describe('FUNCTION_TARGET=command-lookup CEX_UNIT_ROUTES=streams (command-lookup-streams)', () => {
  const base = `/api/v1/endpoints/${ENDPOINT}/commands`;

  it("streams a command's status and an endpoint's commands", async () => {
    const one = await openSse(`${streams.url}${base}/reboot/${COMMAND_ID}/events`);
    const all = await openSse(`${streams.url}${base}/events`);
    try {
      expect(one.status).toBe(200);
      expect(one.headers['content-type']).toMatch(/^text\/event-stream/);
      const [first] = await one.waitFor(1);
      expect(descriptor(first!)).toMatchObject({ endpointId: ENDPOINT, commandId: COMMAND_ID, status: 'PENDING' });
      expect(all.status).toBe(200);
      const [pending] = await all.waitFor(1);
      expect(descriptor(pending!)).toMatchObject({ endpointId: ENDPOINT, commandType: 'reboot', commandId: COMMAND_ID });
    } finally {
      one.close();
      all.close();
    }
  });

  it('answers the read and the delete of one command 404 problem+json, and deletes nothing', async () => {
    await expectRouteNotFound(await fetch(`${streams.url}${base}/reboot/${COMMAND_ID}`), 'a read');
    await expectRouteNotFound(await fetch(`${streams.url}${base}/reboot/${COMMAND_ID}`, { method: 'DELETE' }), 'a delete');
    await expectRouteNotFound(await fetch(`${streams.url}/cloudevents`, { method: 'POST', body: '{}' }), 'a CloudEvent');
    const rows = await db.sql`SELECT 1 FROM commands WHERE endpoint_id = ${ENDPOINT} AND command_id = ${COMMAND_ID}`;
    expect(rows.length).toBe(1);
    const openapi = (await (await fetch(`${streams.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths).sort()).toEqual([
      '/api/v1/endpoints/{endpointId}/commands/events',
      '/api/v1/endpoints/{endpointId}/commands/{commandType}/{commandId}/events',
    ]);
  });

  it('ends its open streams on SIGTERM and exits 0 (inside the grace of its 600 s timeoutSeconds)', async () => {
    const open = await openSse(`${streams.url}${base}/events`);
    await open.waitFor(1);
    expect(await streams.stop('SIGTERM', 15_000), streams.output()).toBe(0);
    await open.ended;
    expect(streams.output()).toContain('"msg":"stopped"');
  });
});
