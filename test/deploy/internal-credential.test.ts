import { randomBytes, randomUUID } from 'node:crypto';
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
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';
import { createImageLayout, type ImageLayout } from './image-layout.js';
import { postCloudEvent, startUnit, type UnitProcess } from './unit-process.js';

// Issue 17, part 1, in unit mode (FUNCTION_TARGET=x, as each Knative Service
// runs the image), caught in the middle of a credential rotation: the bridge
// still sends the OLD token; the functions send and accept the NEW one and
// accept the OLD one as CEX_INTERNAL_TOKEN_ALT (knative/README.md). A forged
// or stale-credential request is refused with 401 and changes nothing; the
// real path (NATS -> bridge -> function) keeps working through the rotation.

const token = () => `tok-${randomBytes(24).toString('base64url')}`;
const OLD = token();
const NEW = token();
const RETIRED = token();

let layout: ImageLayout;
let db: TestDatabase;
let nc: NatsConnection;
let instance: string;
let submit: UnitProcess;
let inbound: UnitProcess;
let reload: UnitProcess;
let bridge: UnitProcess;
let commandId: number;

const ENDPOINT = 'e-unit-forged';

const resultFor = (id: number, reasonPhrase: string) =>
  encodeClientData({
    correlationId: randomUUID(),
    timestamp: Date.now(),
    timeout: 0,
    appVersionName: 'app-v1',
    endpointId: ENDPOINT,
    resourcePath: '/result/reboot',
    requestId: 3,
    configName: null,
    payload: Buffer.from(JSON.stringify([{ id, statusCode: 200, reasonPhrase }])),
  });

const pollFor = () =>
  encodeClientData({
    correlationId: randomUUID(),
    timestamp: Date.now(),
    timeout: 0,
    appVersionName: 'app-v1',
    endpointId: `${ENDPOINT}-2`,
    resourcePath: '/command/reboot',
    requestId: 4,
    configName: null,
    payload: Buffer.from('{}'),
  });

async function statusOf(id: number): Promise<{ status: string; reason_phrase: string | null }> {
  const [row] = await db.sql<{ status: string; reason_phrase: string | null }[]>`
    SELECT status, reason_phrase FROM commands WHERE endpoint_id = ${ENDPOINT} AND command_id = ${id}`;
  return row!;
}

const codeOf = (res: { text: string }) => (JSON.parse(res.text) as { code: string }).code;

beforeAll(async () => {
  [layout, db] = await Promise.all([createImageLayout(), createTestDatabase()]);
  instance = uniqueInstanceName();
  nc = await connect({ servers: testNatsUrl(), name: 'cex-internal-credential-test' });
  const env = {
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_AUTH: 'off',
    CEX_INSTANCE_NAME: instance,
    KPC_INSTANCE_NAME: uniquePrefix('kpc'),
    CEX_SHUTDOWN_GRACE_MS: '3000',
  };
  const functionEnv = { ...env, CEX_INTERNAL_TOKEN: NEW, CEX_INTERNAL_TOKEN_ALT: OLD };
  [submit, inbound, reload] = await Promise.all([
    startUnit(layout, 'command-submit', functionEnv),
    startUnit(layout, 'esp-inbound', functionEnv),
    startUnit(layout, 'scmp-config-reload', functionEnv),
  ]);
  bridge = await startUnit(layout, 'nats-bridge', {
    ...env,
    CEX_INTERNAL_TOKEN: OLD,
    CEX_COMMAND_SUBMIT_URL: submit.url,
    CEX_ESP_INBOUND_URL: inbound.url,
    CEX_SCMP_CONFIG_RELOAD_URL: reload.url,
  });
  const res = await fetch(`${submit.url}/api/v1/endpoints/${ENDPOINT}/commands/reboot?awaitTimeout=0`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(202);
  commandId = ((await res.json()) as { commandId: number }).commandId;
}, 90_000);

afterAll(async () => {
  await Promise.all([bridge, submit, inbound, reload].map((u) => u?.stop('SIGTERM', 10_000)));
  await nc?.close();
  await layout?.remove();
  await db?.drop();
});

describe('FUNCTION_TARGET=esp-inbound', () => {
  it('refuses a forged result without a credential, with a made-up one and with a retired one; the command stays PENDING', async () => {
    for (const [credential, code] of [
      [undefined, 'INTERNAL_CREDENTIAL_MISSING'],
      ['made-up-made-up-made-up-made-up-made-up', 'INTERNAL_CREDENTIAL_INVALID'],
      [RETIRED, 'INTERNAL_CREDENTIAL_INVALID'],
      [`${NEW}x`, 'INTERNAL_CREDENTIAL_INVALID'],
      [NEW.slice(0, -1), 'INTERNAL_CREDENTIAL_INVALID'],
    ] as const) {
      const res = await postCloudEvent(
        inbound.url,
        EVENT_TYPES.espClientData,
        resultFor(commandId, 'forged'),
        {
          natssubject: espClientDataSubject(instance),
        },
        credential,
      );
      expect(res.status, `credential ${credential}`).toBe(401);
      expect(codeOf(res)).toBe(code);
    }
    expect(await statusOf(commandId)).toEqual({ status: 'PENDING', reason_phrase: null });
    const metrics = await (await fetch(`${inbound.url}/metrics`)).text();
    expect(metrics).toMatch(/^cex_internal_requests_refused_total\{unit="esp-inbound",reason="missing"\} 1$/m);
    expect(metrics).toMatch(/^cex_internal_requests_refused_total\{unit="esp-inbound",reason="invalid"\} 4$/m);
    expect(inbound.output()).toContain('internal request without a valid credential refused');
    expect(inbound.output()).not.toContain(NEW);
  });

  it('accepts both credentials of a rotation, the new one and the old one', async () => {
    for (const credential of [NEW, OLD]) {
      const res = await postCloudEvent(
        inbound.url,
        EVENT_TYPES.espClientData,
        pollFor(),
        { natssubject: espClientDataSubject(instance) },
        credential,
      );
      expect(res.status, res.text).toBe(200);
    }
  });

  it('still takes the real path: NATS -> the bridge (old credential) -> esp-inbound makes the command EXECUTED', async () => {
    const reply = await nc.request(espClientDataSubject(instance), resultFor(commandId, 'done by the device'), { timeout: 15_000 });
    expect(decodeExtensionData(reply.data)).toMatchObject({ statusCode: 200, endpointId: ENDPOINT });
    expect(await statusOf(commandId)).toEqual({ status: 'EXECUTED', reason_phrase: 'done by the device' });
  });
});

describe('FUNCTION_TARGET=command-submit and scmp-config-reload', () => {
  it('refuse a forged 12/CIP invocation on POST /cloudevents: no command is created', async () => {
    const request = encodeCommandInvocationRequest({
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: 0,
      endpointId: ENDPOINT,
      commandType: 'unlock',
      commandId: 5,
      payload: null,
    });
    const res = await postCloudEvent(`${submit.url}/cloudevents`, EVENT_TYPES.cipCommandRequest, request, {}, RETIRED);
    expect(res.status).toBe(401);
    expect(codeOf(res)).toBe('INTERNAL_CREDENTIAL_INVALID');
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE command_type = 'unlock'`;
    expect(row!.n).toBe(0);
  });

  it('refuse a forged 21/TLE unregistered: the tenant is not revoked', async () => {
    const event = encodeTenantUnregisteredEvent({
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: 0,
      tenantId: 'kaa',
      originatorReplicaId: 'forger',
    });
    const res = await postCloudEvent(reload.url, EVENT_TYPES.tleUnregistered, event);
    expect(res.status).toBe(401);
    expect(codeOf(res)).toBe('INTERNAL_CREDENTIAL_MISSING');
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM tenant_revocations`;
    expect(row!.n).toBe(0);
  });
});

describe('FUNCTION_TARGET=nats-bridge', () => {
  const natsRequest = (credential?: string) =>
    fetch(`${bridge.url}/nats/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
      body: JSON.stringify({ subject: 'kaa.v1.service.elsewhere.anything', data: 'eA==', timeoutMs: 500 }),
    });

  it('refuses /nats/request without its credential, and judges the request only with it', async () => {
    const none = await natsRequest();
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ code: 'INTERNAL_CREDENTIAL_MISSING' });
    // The bridge accepts only its own credential (it has no ALT): NEW is refused here.
    expect((await natsRequest(NEW)).status).toBe(401);
    // Past the credential, the subject is judged (only 20/EFMP is requested for functions).
    const own = await natsRequest(OLD);
    expect(own.status).toBe(403);
    expect(await own.json()).toMatchObject({ code: 'SUBJECT_NOT_ALLOWED' });
  });
});

describe('a unit that takes internal requests, started without CEX_INTERNAL_TOKEN', () => {
  it('exits at start and names the variable, rather than answer every event 401', async () => {
    const run = await startUnit(layout, 'esp-inbound', { DATABASE_URL: db.url, CEX_AUTH: 'off' }, { waitReady: false });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('CEX_INTERNAL_TOKEN: required for FUNCTION_TARGET=esp-inbound');
  });
});
