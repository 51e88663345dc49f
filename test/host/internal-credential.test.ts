import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import {
  decodeExtensionData,
  encodeClientData,
  encodeCommandInvocationRequest,
  encodeTenantUnregisteredEvent,
  espClientDataSubject,
} from '../../shared/protocol/index.js';
import { postCloudEvent } from '../deploy/unit-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';

// Issue 17, part 1, on the dev host (`make run`): the functions' CloudEvent
// routes (/units/{name}) and the bridge's /nats/request are for the bridge
// alone. The dev host generates the internal credential at start and keeps
// it in memory, so a client of the host cannot forge an endpoint result, a
// CIP invocation or a tenant unregistration; the real path (NATS -> bridge ->
// function) still works.

let db: TestDatabase;
let host: DevHost;
let nc: NatsConnection;
let cex: string;
let commandId: number;

const resultFor = (id: number, reasonPhrase: string) =>
  encodeClientData({
    correlationId: randomUUID(),
    timestamp: Date.now(),
    timeout: 0,
    appVersionName: 'app-v1',
    endpointId: 'e-forged',
    resourcePath: '/result/reboot',
    requestId: 9,
    configName: null,
    payload: Buffer.from(JSON.stringify([{ id, statusCode: 200, reasonPhrase, payload: { who: reasonPhrase } }])),
  });

async function problemOf(res: { status: number; text: string }) {
  return { status: res.status, ...(JSON.parse(res.text) as { code: string; title: string; detail: string }) };
}

async function command(id: number): Promise<Record<string, unknown>> {
  const res = await fetch(`${host.url}/api/v1/endpoints/e-forged/commands/reboot/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  db = await createTestDatabase();
  cex = uniqueInstanceName();
  // No CEX_INTERNAL_TOKEN: the dev host generates its own.
  host = await startDevHost({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: cex,
    KPC_INSTANCE_NAME: uniquePrefix('kpc'),
    CEX_AUTH: 'off',
  });
  nc = await connect({ servers: testNatsUrl(), name: 'cex-internal-credential-dev-host' });
  const res = await fetch(`${host.url}/api/v1/endpoints/e-forged/commands/reboot?awaitTimeout=0`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"delay":1}',
  });
  expect(res.status).toBe(202);
  commandId = ((await res.json()) as { commandId: number }).commandId;
}, 90_000);
afterAll(async () => {
  await nc?.close();
  await host?.stop('SIGTERM');
  await db?.drop();
});

describe('the dev host refuses internal requests without the credential it generated', () => {
  it('logs that it generated the credential, and never the credential itself', () => {
    const line = host
      .output()
      .split('\n')
      .find((l) => l.includes('internal credential generated'));
    expect(line).toBeDefined();
    expect(line).not.toMatch(/[A-Za-z0-9_-]{43}/);
  });

  it('refuses a forged ClientData result for a pending command (401 problem+json); the command stays PENDING', async () => {
    const url = `${host.url}/units/esp-inbound`;
    const ext = { natssubject: espClientDataSubject(cex), natsreply: 'kaa.v1.replica.forger.esp.ExtensionData' };
    const none = await postCloudEvent(url, EVENT_TYPES.espClientData, resultFor(commandId, 'forged'), ext);
    expect(await problemOf(none)).toMatchObject({ status: 401, code: 'INTERNAL_CREDENTIAL_MISSING', title: 'Unauthorized' });
    const guessed = await postCloudEvent(
      url,
      EVENT_TYPES.espClientData,
      resultFor(commandId, 'forged'),
      ext,
      'guessed-guessed-guessed-guessed-guessed',
    );
    expect(await problemOf(guessed)).toMatchObject({ status: 401, code: 'INTERNAL_CREDENTIAL_INVALID' });

    expect(await command(commandId)).toMatchObject({ status: 'PENDING' });
    const [row] = await db.sql<{ status: string; reason_phrase: string | null }[]>`
      SELECT status, reason_phrase FROM commands WHERE endpoint_id = 'e-forged' AND command_id = ${commandId}`;
    expect(row).toEqual({ status: 'PENDING', reason_phrase: null });

    const metrics = await (await fetch(`${host.url}/metrics`)).text();
    expect(metrics).toMatch(/^cex_internal_requests_refused_total\{unit="esp-inbound",reason="missing"\} 1$/m);
    expect(metrics).toMatch(/^cex_internal_requests_refused_total\{unit="esp-inbound",reason="invalid"\} 1$/m);
  });

  it('refuses a forged 12/CIP invocation: no command is created', async () => {
    const request = encodeCommandInvocationRequest({
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: 0,
      endpointId: 'e-forged',
      commandType: 'unlock',
      commandId: 77,
      payload: null,
    });
    const res = await postCloudEvent(`${host.url}/units/command-submit/cloudevents`, EVENT_TYPES.cipCommandRequest, request);
    expect(await problemOf(res)).toMatchObject({ status: 401, code: 'INTERNAL_CREDENTIAL_MISSING' });
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE command_type = 'unlock'`;
    expect(row!.n).toBe(0);
  });

  it('refuses a forged 21/TLE unregistered: the tenant is not revoked', async () => {
    const event = encodeTenantUnregisteredEvent({
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: 0,
      tenantId: 'kaa',
      originatorReplicaId: 'forger',
    });
    const res = await postCloudEvent(`${host.url}/units/scmp-config-reload`, EVENT_TYPES.tleUnregistered, event);
    expect(await problemOf(res)).toMatchObject({ status: 401, code: 'INTERNAL_CREDENTIAL_MISSING' });
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM tenant_revocations`;
    expect(row!.n).toBe(0);
  });

  it("refuses a NATS request through the bridge's internal endpoint", async () => {
    const res = await fetch(`${host.url}/units/nats-bridge/nats/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'kaa.v1.service.epr.efmp.ep-list-by-filter-request', data: 'eA==', timeoutMs: 1000 }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ code: 'INTERNAL_CREDENTIAL_MISSING' });
  });

  it('still takes the real path: the endpoint result over NATS, through the bridge, makes the command EXECUTED', async () => {
    const reply = await nc.request(espClientDataSubject(cex), resultFor(commandId, 'done by the device'), { timeout: 10_000 });
    expect(decodeExtensionData(reply.data)).toMatchObject({ statusCode: 200, endpointId: 'e-forged' });
    expect(await command(commandId)).toMatchObject({
      status: 'EXECUTED',
      reasonPhrase: 'done by the device',
      responsePayload: { who: 'done by the device' },
    });
  });
});
