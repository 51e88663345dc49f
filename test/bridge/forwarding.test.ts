import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { answer, EVENT_TYPES } from '../../shared/bridge/index.js';
import {
  encodeBroadcastConfigurationUpdateEvent,
  encodeClientData,
  encodeCommandInvocationRequest,
  encodeEndpointConnectedEvent,
  encodeTenantUpdatedEvent,
  espClientDataReplicaSubject,
  espClientDataSubject,
  cipCommandRequestSubject,
  type ClientData,
} from '../../shared/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { uniquePrefix } from '../helpers/nats.js';
import {
  bridgeRuntime,
  collect,
  counterValue,
  runBridge,
  startFakeFunctions,
  testConnection,
  uniqueNames,
  waitFor,
  type FakeFunctions,
  type Names,
  type RunningBridge,
} from './helpers.js';

let db: TestDatabase;
let fake: FakeFunctions;
let names: Names;
let nc: NatsConnection;
let running: RunningBridge;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  names = uniqueNames();
  nc = await testConnection();
  running = await runBridge(bridgeRuntime(db.url, names, fake.url));
});
afterAll(async () => {
  await running?.stop();
  await nc?.close();
  await fake?.close();
  await db?.drop();
});
beforeEach(() => {
  fake.received.length = 0;
  fake.respond = () => ({ status: 204 });
});

const clientData = (over: Partial<ClientData> = {}): ClientData => ({
  correlationId: randomUUID(),
  timestamp: Date.now(),
  timeout: 0,
  appVersionName: 'app-v1',
  endpointId: 'e-1',
  resourcePath: '/command/reboot',
  requestId: 7,
  payload: Buffer.from('{}'),
  configName: null,
  ...over,
});

/** Requests carrying these bytes (wildcard subjects also bring other files' events: match on content). */
const receivedWith = (bytes: Buffer) => fake.received.filter((r) => r.body.equals(bytes));

describe('forwarding NATS messages to functions', () => {
  it('forwards a ClientData as a binary CloudEvent and publishes the function answer', async () => {
    const reply = `${uniquePrefix('reply')}.esp.ExtensionData`;
    const replies = await collect(nc, reply);
    fake.respond = () => ({ status: 200, body: answer([{ subject: reply, data: Buffer.from('answer-bytes') }]) });
    const bytes = encodeClientData(clientData());
    const subject = espClientDataSubject(names.instance);
    nc.publish(subject, bytes, { reply });

    await waitFor(() => replies.messages.length === 1, 15_000, 'the answer');
    expect(Buffer.from(replies.messages[0]!.data).toString()).toBe('answer-bytes');
    expect(receivedWith(bytes)).toHaveLength(1);
    const req = receivedWith(bytes)[0]!;
    expect(req.path).toBe('/esp-inbound');
    expect(req.body.equals(bytes)).toBe(true);
    expect(req.headers).toMatchObject({
      'content-type': 'application/avro',
      'ce-specversion': '1.0',
      'ce-type': EVENT_TYPES.espClientData,
      'ce-source': `nats://${subject}`,
      'ce-natssubject': subject,
      'ce-natsreply': reply,
      'ce-cexreplica': running.rt.config.replicaId,
      // The internal credential: functions refuse events without it.
      authorization: `Bearer ${TEST_INTERNAL_TOKEN}`,
    });
    expect(req.headers['ce-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(req.headers['ce-time']))).toBeGreaterThan(Date.now() - 10_000);
    replies.stop();
  });

  it('routes each subject to its function', async () => {
    const connected = `kaa.v1.events.${uniquePrefix('kpc')}.endpoint.connectivity.connected`;
    const tle = `kaa.v1.events.${uniquePrefix('tm')}.tenant.lifecycle.updated`;
    const envelope = { correlationId: randomUUID(), timestamp: Date.now(), timeout: 0 };
    const sent = [
      {
        subject: cipCommandRequestSubject(names.instance),
        path: '/command-submit/cloudevents',
        type: EVENT_TYPES.cipCommandRequest,
        bytes: encodeCommandInvocationRequest({ ...envelope, endpointId: 'e-1', commandType: 'reboot', commandId: 1, payload: null }),
      },
      {
        subject: espClientDataReplicaSubject(running.rt.config.replicaId),
        path: '/esp-inbound',
        type: EVENT_TYPES.espClientData,
        bytes: encodeClientData(clientData()),
      },
      {
        subject: connected,
        path: '/esp-inbound',
        type: EVENT_TYPES.elceConnected,
        bytes: encodeEndpointConnectedEvent({ ...envelope, endpoints: { 'e-1': 'app-v1' }, originatorReplicaId: 'r1' }),
      },
      {
        subject: `kaa.v1.events.${names.scmpProvider}.service.configuration.upsert`,
        path: '/scmp-config-reload',
        type: EVENT_TYPES.scmpBroadcast,
        bytes: encodeBroadcastConfigurationUpdateEvent({
          correlationId: randomUUID(),
          timestamp: Date.now(),
          originatorReplicaId: 'r1',
          tenantID: null,
          appName: null,
          appVerName: null,
        }),
      },
      {
        subject: tle,
        path: '/scmp-config-reload',
        type: EVENT_TYPES.tleUpdated,
        bytes: encodeTenantUpdatedEvent({ ...envelope, tenantId: 't1', originatorReplicaId: 'r1' }),
      },
    ];
    for (const m of sent) nc.publish(m.subject, m.bytes);
    for (const m of sent) {
      await waitFor(() => receivedWith(m.bytes).length > 0, 5_000, `forward of ${m.subject}`);
      const req = receivedWith(m.bytes)[0]!;
      expect({ path: req.path, type: req.headers['ce-type'], subject: req.headers['ce-natssubject'] }).toEqual({
        path: m.path,
        type: m.type,
        subject: m.subject,
      });
      expect(req.headers['ce-natsreply']).toBeUndefined();
      expect(req.headers.authorization, m.subject).toBe(`Bearer ${TEST_INTERNAL_TOKEN}`);
    }
  });

  it('drops expired messages without forwarding them', async () => {
    const metric = running.rt.metrics.natsMessages;
    const before = await counterValue(metric, { outcome: 'expired' });
    const expired = encodeClientData(clientData({ timestamp: Date.now() - 10_000, timeout: 1_000 }));
    const fresh = encodeClientData(clientData({ timestamp: Date.now() - 10_000, timeout: 60_000 }));
    nc.publish(espClientDataSubject(names.instance), expired);
    nc.publish(espClientDataSubject(names.instance), fresh);
    await waitFor(() => receivedWith(fresh).length === 1, 15_000, 'the fresh message');
    expect(receivedWith(expired)).toHaveLength(0);
    expect(await counterValue(metric, { outcome: 'expired' })).toBe(before + 1);
  });

  it('survives garbage on every subscribed subject and keeps forwarding', async () => {
    const subjects = [
      espClientDataSubject(names.instance),
      espClientDataReplicaSubject(running.rt.config.replicaId),
      cipCommandRequestSubject(names.instance),
      `kaa.v1.events.${uniquePrefix('kpc')}.endpoint.connectivity.connected`,
      `kaa.v1.events.${uniquePrefix('kpc')}.endpoint.connectivity.disconnected`,
      `kaa.v1.events.${names.scmpProvider}.service.configuration.upsert`,
      `kaa.v1.events.${names.scmpProvider}.service.configuration.something-else`,
      `kaa.v1.service.${names.instance}.scmp.configuration.delete`,
      `kaa.v1.events.${uniquePrefix('tm')}.tenant.lifecycle.unregistered`,
    ];
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      Buffer.from('{"not":"avro"}'),
      // A map/array block count of 2^40 (would spin avsc), then nothing.
      Buffer.from([0x02, 0x41, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]),
      Buffer.alloc(4096, 0xaa),
    ];
    const metric = running.rt.metrics.natsMessages;
    const before = await counterValue(metric, { outcome: 'undecodable' });
    for (const subject of subjects) for (const g of garbage) nc.publish(subject, g);
    const valid = encodeClientData(clientData());
    nc.publish(espClientDataSubject(names.instance), valid);
    // One connection, one server: the bridge receives these in the order they
    // were published, and drops garbage synchronously as it receives it. So
    // once the valid message (published last) was forwarded, every piece of
    // garbage had been judged.
    await waitFor(() => receivedWith(valid).length === 1, 15_000, 'the valid message after garbage');
    expect(fake.received.filter((r) => garbage.some((g) => g.equals(r.body)))).toHaveLength(0);
    // The unknown SCMP event type is counted apart from the undecodable ones.
    // At least: other files may publish garbage on the wildcard event subjects too.
    expect(await counterValue(metric, { outcome: 'undecodable' })).toBeGreaterThanOrEqual(before + (subjects.length - 1) * garbage.length);
    expect(await counterValue(metric, { outcome: 'unknown_type' })).toBeGreaterThanOrEqual(garbage.length);
    expect((await running.rt.readiness()).checks.nats).toBe(true);
  });

  it('retries 5xx and network-level failures, keeping the CloudEvent id', async () => {
    const forwarded = () => counterValue(running.rt.metrics.natsMessages, { outcome: 'forwarded' });
    const before = await forwarded();
    let calls = 0;
    // A 503, then a connection cut without any answer, then success.
    fake.respond = () => {
      calls++;
      return calls === 1 ? { status: 503, body: { error: 'busy' } } : calls === 2 ? { status: 0, destroy: true } : { status: 204 };
    };
    const bytes = encodeClientData(clientData());
    nc.publish(espClientDataSubject(names.instance), bytes);
    // The forward is over (counted) only after its last attempt: no further retry can follow.
    await waitFor(async () => (await forwarded()) === before + 1, 15_000, 'the forward answered');
    expect(receivedWith(bytes)).toHaveLength(3);
    const ids = new Set(receivedWith(bytes).map((r) => r.headers['ce-id']));
    expect(ids.size).toBe(1);
  });

  it('gives up after the last retry, and does not retry a 4xx', async () => {
    const count = (outcome: string) => counterValue(running.rt.metrics.natsMessages, { outcome });
    const [failed, rejected] = [await count('failed'), await count('rejected')];
    const serverError = encodeClientData(clientData());
    const badEvent = encodeClientData(clientData());
    fake.respond = (req) => ({ status: req.body.equals(serverError) ? 500 : 400 });
    nc.publish(espClientDataSubject(names.instance), serverError);
    nc.publish(espClientDataSubject(names.instance), badEvent);
    // Both forwards are over once counted: no attempt can follow.
    await waitFor(
      async () => (await count('failed')) === failed + 1 && (await count('rejected')) === rejected + 1,
      15_000,
      'both outcomes',
    );
    expect(receivedWith(serverError)).toHaveLength(4);
    expect(receivedWith(badEvent)).toHaveLength(1);
  });

  it('ignores a 200 whose body is not a FunctionAnswer: nothing published, not retried', async () => {
    const reply = `${uniquePrefix('reply')}.esp.ExtensionData`;
    const replies = await collect(nc, reply);
    const invalid = () => counterValue(running.rt.metrics.natsMessages, { outcome: 'invalid_answer' });
    const before = await invalid();
    // A publish list whose entry names a real subject but carries no base64 data.
    fake.respond = () => ({ status: 200, body: { publish: [{ subject: reply, data: 1 }] } });
    const first = encodeClientData(clientData());
    nc.publish(espClientDataSubject(names.instance), first);
    await waitFor(async () => (await invalid()) === before + 1, 15_000, 'the invalid answer counted');
    // Whatever the bridge had published for it is on the server after its
    // flush, and with us after ours.
    await running.bridge.nats()!.nc.flush();
    await nc.flush();
    expect(replies.messages).toHaveLength(0);
    expect(receivedWith(first)).toHaveLength(1);
    replies.stop();
  });
});

describe('two bridges in one queue group', () => {
  it('forwards each message once', async () => {
    const second = await runBridge(bridgeRuntime(db.url, names, fake.url));
    try {
      const sent = Array.from({ length: 60 }, () => encodeClientData(clientData()));
      for (const bytes of sent) nc.publish(espClientDataSubject(names.instance), bytes);
      await waitFor(() => sent.every((b) => receivedWith(b).length >= 1), 30_000, 'every message');
      // Stopping a bridge finishes every forward it had received (a second
      // copy of a message would be among them): after both stop, nothing is
      // left in flight. This is the last test of the file.
      await second.stop();
      await running.stop();
      expect(sent.map((b) => receivedWith(b).length)).toEqual(sent.map(() => 1));
      const replicas = new Set(sent.map((b) => receivedWith(b)[0]!.headers['ce-cexreplica']));
      expect(replicas).toEqual(new Set([running.rt.config.replicaId, second.rt.config.replicaId]));
    } finally {
      await second.stop();
    }
  });
});
