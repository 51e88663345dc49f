import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { otherInstance, startRestHost, type RestHost } from '../helpers/rest-host.js';
import { expireDue, recordEndpointResults } from '../../shared/commands/index.js';
import { descriptorSchema } from '../../shared/rest/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { ChangeFeed } from '../../shared/changes/index.js';
import { StreamRegistry, type EventSink } from '../../shared/streams/index.js';
import { descriptor, openSse } from './client.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

let db: TestDatabase;
let host: RestHost;
let device: Runtime; // another instance recording results, as esp-inbound would
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
  device = otherInstance(db);
});
afterAll(async () => {
  await host.stop();
  await device.shutdown();
  await db.drop();
});

async function create(ttl = 60_000): Promise<{ endpointId: string; url: string }> {
  const endpointId = `sse-${++seq}`;
  const res = await fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=0&commandTtl=${ttl}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"n":1}',
  });
  expect(res.status).toBe(202);
  return { endpointId, url: `${host.url}/api/v1/endpoints/${endpointId}/commands/reboot/1/events` };
}

const execute = (endpointId: string) =>
  recordEndpointResults(device, endpointId, 'reboot', [{ commandId: 1, statusCode: 200, payload: { ok: true } }], null);

describe('live status of one command', () => {
  it('sends the current state first, each change once (id = version), and ends after the final state', async () => {
    const { endpointId, url } = await create();
    const stream = await openSse(url);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store');
    const [first] = await stream.waitFor(1);
    expect(first).toMatchObject({ event: 'status', id: '1' });
    expect(descriptorSchema.parse(JSON.parse(first!.data)).status).toBe('PENDING');
    await execute(endpointId);
    await stream.ended;
    expect(stream.events.map((e) => [e.id, descriptor(e).status])).toEqual([
      ['1', 'PENDING'],
      ['2', 'EXECUTED'],
    ]);
    expect(descriptor(stream.events[1]!).statusCode).toBe(200);
  });

  it('resumes after Last-Event-ID: a client gone after the first event sees the final state once, then 204', async () => {
    const { endpointId, url } = await create();
    const first = await openSse(url);
    await first.waitFor(1);
    first.close();
    await execute(endpointId);
    const again = await openSse(url, { 'last-event-id': '1' });
    await again.ended;
    expect(again.events.map((e) => [e.id, descriptor(e).status])).toEqual([['2', 'EXECUTED']]);
    const done = await openSse(url, { 'last-event-id': '2' });
    expect(done.status).toBe(204);
    await done.ended;
    expect(done.events).toEqual([]);
  });

  it('sends only the final state to a client arriving after it, and ends on EXPIRED too', async () => {
    const late = await create();
    await execute(late.endpointId);
    const stream = await openSse(late.url);
    await stream.ended;
    expect(stream.events.map((e) => descriptor(e).status)).toEqual(['EXECUTED']);

    const expiring = await create(100);
    const watching = await openSse(expiring.url);
    await watching.waitFor(1);
    const [row] = await db.sql<{ at: Date }[]>`SELECT expires_at AS at FROM commands WHERE endpoint_id = ${expiring.endpointId}`;
    await untilDatabaseTimePasses(db.sql, row!.at);
    await expireDue(device);
    await watching.ended;
    expect(watching.events.map((e) => [e.id, descriptor(e).status])).toEqual([
      ['1', 'PENDING'],
      ['2', 'EXPIRED'],
    ]);
  });

  it('says `deleted` and ends when the command is deleted', async () => {
    const { endpointId, url } = await create();
    const stream = await openSse(url);
    await stream.waitFor(1);
    expect((await fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/reboot/1`, { method: 'DELETE' })).status).toBe(204);
    await stream.ended;
    expect(stream.events.map((e) => e.event)).toEqual(['status', 'deleted']);
  });

  it('refuses unknown commands, another tenant’s, bad ids and bad Last-Event-IDs with problem+json', async () => {
    const { url } = await create();
    await db.sql`INSERT INTO commands (endpoint_id, command_type, command_id, tenant_id, expires_at, ttl_millis)
                 VALUES ('sse-foreign', 'reboot', 1, 'other-tenant', now() + interval '1 hour', 60000)`;
    const cases: [string, Record<string, string>, number, string][] = [
      [`${host.url}/api/v1/endpoints/sse-nobody/commands/reboot/1/events`, {}, 404, 'COMMAND_NOT_FOUND'],
      [`${host.url}/api/v1/endpoints/sse-foreign/commands/reboot/1/events`, {}, 404, 'COMMAND_NOT_FOUND'],
      [`${host.url}/api/v1/endpoints/sse-1/commands/reboot/0/events`, {}, 400, 'INVALID_COMMAND_ID'],
      [url, { 'last-event-id': 'abc' }, 400, 'INVALID_LAST_EVENT_ID'],
    ];
    for (const [target, headers, status, code] of cases) {
      const res = await fetch(target, { headers });
      expect(res.status, target).toBe(status);
      expect(((await res.json()) as { code: string }).code).toBe(code);
    }
  });

  it('forgets a stream when its client disconnects, and ends every stream on shutdown', async () => {
    const { url } = await create();
    const registry = host.rt.streams;
    const before = registry.size.command;
    const stream = await openSse(url);
    await stream.waitFor(1);
    expect(registry.size.command).toBe(before + 1);
    stream.close();
    await eventually(() => registry.size.command === before);

    const second = await startRestHost(db);
    const { endpointId } = await create();
    const open = await openSse(`${second.url}/api/v1/endpoints/${endpointId}/commands/reboot/1/events`);
    await open.waitFor(1);
    await second.stop();
    await open.ended;
  });
});

describe('stream registry', () => {
  function fakeSink() {
    let closed = false;
    const listeners: (() => void)[] = [];
    const sink = {
      sent: [] as string[],
      beats: 0,
      send(event: string, id: string, data: string) {
        sink.sent.push(`${event}|${id}|${(JSON.parse(data) as { status?: string }).status ?? ''}`);
        return !closed;
      },
      heartbeat() {
        sink.beats++;
      },
      end() {
        if (closed) return;
        closed = true;
        for (const l of listeners.splice(0)) l();
      },
      get closed() {
        return closed;
      },
      onClose(l: () => void) {
        if (closed) l();
        else listeners.push(l);
      },
    } satisfies EventSink & { sent: string[]; beats: number };
    return sink;
  }

  it('sends heartbeats to every stream and finds a change whose NOTIFY was lost, on its safety tick', async () => {
    const changes = new ChangeFeed({ sql: host.rt.sql, listener: host.rt.listener, log: host.rt.log, safetyTickMs: 200 });
    await changes.start();
    const registry = new StreamRegistry({ changes, sql: host.rt.sql, log: host.rt.log, heartbeatMs: 50, safetyTickMs: 200 });
    const { endpointId } = await create();
    const sink = fakeSink();
    const following = registry.followCommand({ endpointId, commandType: 'reboot', commandId: 1 }, 'kaa', 0, sink);
    await eventually(() => sink.sent.length === 1);
    // A result written without any NOTIFY (as if the writer crashed right after its commit).
    await db.sql`UPDATE commands SET status = 'EXECUTED', status_code = 200, version = version + 1, status_xid = pg_current_xact_id()
                  WHERE endpoint_id = ${endpointId}`;
    await following;
    expect(sink.sent).toEqual(['status|1|PENDING', 'status|2|EXECUTED']);
    expect(sink.beats).toBeGreaterThanOrEqual(1);
    registry.stop();
    changes.stop();
  });
});

async function eventually(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
