import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../../functions/esp-inbound/index.js';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import { CHANNELS } from '../../shared/db/index.js';
import { encodeEndpointConnectedEvent, encodeEndpointDisconnectedEvent } from '../../shared/protocol/index.js';
import { createCommand, type NewCommand } from '../../shared/store/index.js';
import { clientData, sendClientData } from './esp-client.js';
import { MODES, postEvent, startFunctionHost, type FunctionHost, type Mode } from './function-host.js';

let host: FunctionHost;
beforeAll(async () => {
  host = await startFunctionHost('esp-inbound');
});
afterAll(async () => host?.close());
beforeEach(async () => {
  await host.db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const make = (over: Partial<NewCommand>) =>
  createCommand(host.db.sql, {
    tenantId: 'kaa',
    endpointId: 'e-1',
    commandType: 'reboot',
    payload: null,
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 0,
    origin: 'rest',
    ...over,
  });

const connectivity = (endpoints: Record<string, string>, over: { timestamp?: number; timeout?: number } = {}) => ({
  correlationId: 'elce-1',
  timestamp: Date.now(),
  timeout: 0,
  endpoints,
  originatorReplicaId: 'kpc-replica-1',
  ...over,
});

const states = () =>
  host.db.sql<{ endpointId: string; appVersionName: string | null; online: boolean | null }[]>`
    SELECT endpoint_id AS "endpointId", app_version_name AS "appVersionName", online FROM endpoint_state ORDER BY endpoint_id`;

const pushRows = () =>
  host.db.sql<{ endpointId: string; commandType: string }[]>`
    SELECT endpoint_id AS "endpointId", command_type AS "commandType" FROM outbox WHERE kind = 'push' ORDER BY 1, 2`;

describe.each(MODES)('esp-inbound 9/ELCE, %s mode', (mode: Mode) => {
  it('connected: marks the endpoints online, learns versions, queues pushes of their outstanding commands and NOTIFYs', async () => {
    await make({ commandType: 'reboot' });
    await make({ commandType: 'close-door' });
    await make({ endpointId: 'e-2', ttlMillis: 0 }); // push-once: never re-pushed on connect
    await make({ endpointId: 'e-9' }); // not in the event
    await host.db.sql`DELETE FROM outbox`;
    const notified: string[] = [];
    const listening = await host.db.sql.listen(CHANNELS.outbox, (payload) => notified.push(payload));
    try {
      const posted = await postEvent(
        host.url,
        mode,
        EVENT_TYPES.elceConnected,
        encodeEndpointConnectedEvent(connectivity({ 'e-1': 'app-v1', 'e-2': 'app-v2', 'e-3': '' })),
      );
      expect(posted.status).toBe(204);
      expect(await states()).toEqual([
        { endpointId: 'e-1', appVersionName: 'app-v1', online: true },
        { endpointId: 'e-2', appVersionName: 'app-v2', online: true },
        { endpointId: 'e-3', appVersionName: null, online: true },
      ]);
      expect(await pushRows()).toEqual([
        { endpointId: 'e-1', commandType: 'close-door' },
        { endpointId: 'e-1', commandType: 'reboot' },
      ]);
      await expect.poll(() => notified.length).toBeGreaterThan(0);
    } finally {
      await listening.unlisten();
    }
  });

  it('disconnected: marks the endpoints offline, keeps their versions, queues nothing', async () => {
    await make({});
    await host.db.sql`DELETE FROM outbox`;
    await postEvent(host.url, mode, EVENT_TYPES.elceConnected, encodeEndpointConnectedEvent(connectivity({ 'e-1': 'app-v1' })));
    await host.db.sql`DELETE FROM outbox`;
    const posted = await postEvent(
      host.url,
      mode,
      EVENT_TYPES.elceDisconnected,
      encodeEndpointDisconnectedEvent(connectivity({ 'e-1': '' })),
    );
    expect(posted.status).toBe(204);
    expect(await states()).toEqual([{ endpointId: 'e-1', appVersionName: 'app-v1', online: false }]);
    expect(await pushRows()).toEqual([]);
  });

  it('ignores endpoint ids CEX cannot serve and drops expired events', async () => {
    await postEvent(host.url, mode, EVENT_TYPES.elceConnected, encodeEndpointConnectedEvent(connectivity({ 'bad id/x': 'v', 'e-1': 'v' })));
    expect((await states()).map((s) => s.endpointId)).toEqual(['e-1']);
    const expired = connectivity({ 'e-1': 'v' }, { timestamp: Date.now() - 10_000, timeout: 1_000 });
    const posted = await postEvent(host.url, mode, EVENT_TYPES.elceDisconnected, encodeEndpointDisconnectedEvent(expired));
    expect(posted.status).toBe(204);
    expect((await states())[0]!.online).toBe(true);
  });

  it.each([
    ['garbage', Buffer.from('not avro at all')],
    ['nothing', Buffer.alloc(0)],
    ['a truncated ClientData', Buffer.from([0x02, 0x41])],
  ])('refuses the event with 400 (the bridge drops it) and publishes nothing when its data is %s', async (_label, bytes) => {
    for (const type of [EVENT_TYPES.espClientData, EVENT_TYPES.elceConnected, EVENT_TYPES.elceDisconnected]) {
      const posted = await postEvent(host.url, mode, type, bytes, { reply: 'kaa.v1.replica.r.esp.ExtensionData' });
      expect(posted.status, type).toBe(400);
      expect(JSON.parse(posted.text), type).toMatchObject({ status: 400, code: 'INVALID_AVRO' });
    }
  });

  it('refuses an event type it does not take with 400', async () => {
    const posted = await postEvent(host.url, mode, 'org.example.unknown', Buffer.from('x'));
    expect(posted.status).toBe(400);
    expect(JSON.parse(posted.text)).toMatchObject({ code: 'UNSUPPORTED_EVENT_TYPE' });
  });
});

describe('esp-inbound with the database down', () => {
  it('answers no KP status but 503 problem+json, so the bridge retries; works again once the database is back', async () => {
    // The same unit served on a database that cannot be reached.
    const down = await startFunctionHost('esp-inbound', { DATABASE_URL: 'postgres://cex:cex@127.0.0.1:1/none' });
    try {
      for (const mode of MODES) {
        const poll = await sendClientData(down.url, mode, clientData());
        expect(poll.status).toBe(503);
        expect(JSON.parse(poll.text)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
        const result = await sendClientData(
          down.url,
          mode,
          clientData({ resourcePath: '/result/reboot', payload: { id: 1, statusCode: 200 } }),
        );
        expect(result.status).toBe(503);
        const elce = await postEvent(down.url, mode, EVENT_TYPES.elceConnected, encodeEndpointConnectedEvent(connectivity({ 'e-1': 'v' })));
        expect(elce.status).toBe(503);
      }
    } finally {
      await down.close();
    }
    const again = await sendClientData(host.url, 'binary', clientData());
    expect(again.status).toBe(200);
  });
});
