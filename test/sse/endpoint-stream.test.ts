import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { otherInstance, startRestHost, type RestHost } from '../helpers/rest-host.js';
import { recordEndpointResults } from '../../shared/commands/index.js';
import { CHANNELS, notify } from '../../shared/db/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { descriptor, openSse, type SseEvent, type SseStream } from './client.js';

let db: TestDatabase;
let host: RestHost;
let device: Runtime;
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

const newEndpoint = () => `eps-${++seq}`;
const streamUrl = (endpointId: string) => `${host.url}/api/v1/endpoints/${endpointId}/commands/events`;

async function invoke(endpointId: string, type = 'reboot'): Promise<number> {
  const res = await fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/${type}?awaitTimeout=0`, { method: 'POST' });
  expect(res.status).toBe(202);
  return ((await res.json()) as { commandId: number }).commandId;
}

const execute = (endpointId: string, id: number, type = 'reboot') =>
  recordEndpointResults(device, endpointId, type, [{ commandId: id, statusCode: 200 }], null);

/** `type/id STATUS` of each status event. */
const states = (events: readonly SseEvent[]) =>
  events
    .filter((e) => e.event === 'status')
    .map((e) => {
      const d = descriptor(e);
      return `${d.commandType}/${d.commandId} ${d.status}`;
    });

describe("live status of an endpoint's commands", () => {
  it('starts with the PENDING commands (not history), then streams creations and results', async () => {
    const ep = newEndpoint();
    await invoke(ep, 'b-type');
    await invoke(ep, 'a-type');
    const done = await invoke(ep, 'c-type');
    await execute(ep, done, 'c-type');
    const stream = await openSse(streamUrl(ep));
    expect(stream.status).toBe(200);
    await stream.waitFor(2);
    expect(states(stream.events)).toEqual(['a-type/1 PENDING', 'b-type/1 PENDING']);
    const next = await invoke(ep, 'a-type');
    await stream.waitFor(3);
    await execute(ep, 1, 'b-type');
    await stream.waitFor(4);
    expect(states(stream.events)).toEqual(['a-type/1 PENDING', 'b-type/1 PENDING', `a-type/${next} PENDING`, 'b-type/1 EXECUTED']);
    expect(stream.events.every((e) => e.id?.startsWith('e1.'))).toBe(true);
    stream.close();
  });

  it('resumes from any event: across reconnects, each state shows once and none is missed', async () => {
    const ep = newEndpoint();
    for (let i = 0; i < 3; i++) await invoke(ep);
    // Writers run while a reader disconnects after every event and resumes with Last-Event-ID.
    const writes = (async () => {
      for (let i = 0; i < 12; i++) {
        const id = await invoke(ep);
        if (i % 2 === 0) await execute(ep, id);
        if (i === 5) await execute(ep, 1);
      }
    })();
    const seen: SseEvent[] = [];
    let lastId: string | undefined;
    let markerWritten = false;
    const marked = writes.then(async () => {
      // Once the writers are done, a last change ends the reading: every
      // state before it has been shown when the marker is. Changes read
      // together go out by key (command type in "C" collation, then id), so
      // the marker's type sorts after 'reboot': named 'end-marker', it went
      // out ahead of the writers' last changes when one read caught both
      // (failed 1 run in 5 of make test).
      await invoke(ep, 'zz-end-marker');
      markerWritten = true;
    });
    // Reconnect after every event, resuming from it, until the marker shows.
    while (!seen.some((e) => states([e])[0]?.startsWith('zz-end-marker/'))) {
      const stream: SseStream = await openSse(streamUrl(ep), lastId ? { 'last-event-id': lastId } : {});
      await stream.waitFor(1, 30_000);
      stream.close();
      seen.push(stream.events[0]!);
      lastId = stream.events[0]!.id;
    }
    // The stream may show the marker before its invoke's answer reaches this test.
    await marked;
    expect(markerWritten).toBe(true);
    seen.pop();
    const shown = states(seen);
    expect(shown.length).toBeGreaterThanOrEqual(15);
    expect(new Set(shown).size).toBe(shown.length);
    // Commands 2 and 3 were pending from the start and never changed: their one state must be there.
    expect(shown).toContain('reboot/2 PENDING');
    expect(shown).toContain('reboot/3 PENDING');
    const [rows] = [
      await db.sql<{ id: number; status: string }[]>`
      SELECT command_id AS id, status FROM commands WHERE endpoint_id = ${ep} ORDER BY command_id`,
    ];
    for (const row of rows) expect(shown, `reboot/${row.id}`).toContain(`reboot/${row.id} ${row.status}`);
    // A command created and executed between two reconnects may show only its final state; nothing else may be missing.
    expect(shown.length).toBeGreaterThanOrEqual(rows.length);
  }, 30_000);

  it('does not lose a change whose transaction began before, and committed after, a change already sent', async () => {
    const ep = newEndpoint();
    const stream = await openSse(streamUrl(ep));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((r) => (inserted = r));
    // A slow writer: its insert (and its xid) comes first, its commit last.
    const slow = db.sql.begin(async (tx) => {
      await tx`INSERT INTO commands (endpoint_id, command_type, command_id, tenant_id, expires_at, ttl_millis)
               VALUES (${ep}, 'slow', 1, 'kaa', now() + interval '1 hour', 3600000)`;
      inserted();
      await gate;
    });
    await insertedYet;
    await invoke(ep, 'fast');
    await stream.waitFor(1);
    const afterFast = stream.events[0]!.id!;
    stream.close();
    release();
    await slow;
    await notify(db.sql, CHANNELS.command, [`${ep}/slow/1`]);
    // Resuming from the event of the later-started, earlier-committed change still brings the slow one.
    const resumed = await openSse(streamUrl(ep), { 'last-event-id': afterFast });
    // A later change bounds the wait: anything the resume wrongly repeated
    // (the fast command) would arrive before it.
    await resumed.waitFor(1);
    await invoke(ep, 'marker');
    await resumed.waitFor(2);
    expect(states(resumed.events)).toEqual(['slow/1 PENDING', 'marker/1 PENDING']);
    resumed.close();
  });

  it("shows only the caller's tenant, and refuses a malformed Last-Event-ID", async () => {
    const ep = newEndpoint();
    const stream = await openSse(streamUrl(ep));
    await db.sql`INSERT INTO commands (endpoint_id, command_type, command_id, tenant_id, expires_at, ttl_millis)
                 VALUES (${ep}, 'secret', 1, 'other-tenant', now() + interval '1 hour', 60000)`;
    await notify(db.sql, CHANNELS.command, [`${ep}/secret/1`]);
    await invoke(ep, 'mine');
    // The other tenant's change committed first, so it would come before
    // 'mine'; a later change of ours bounds the wait for anything after.
    await stream.waitFor(1);
    await invoke(ep, 'later');
    await stream.waitFor(2);
    expect(states(stream.events)).toEqual(['mine/1 PENDING', 'later/1 PENDING']);
    stream.close();
    for (const id of ['12', 'e1.!!', `e1.${Buffer.from('["1:2:","x",null,null]').toString('base64url')}`]) {
      const res = await fetch(streamUrl(ep), { headers: { 'last-event-id': id } });
      expect(res.status, id).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('INVALID_LAST_EVENT_ID');
    }
  });
});
