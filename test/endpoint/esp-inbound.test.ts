import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../../functions/esp-inbound/index.js';
import { createCommand, deleteCommand, readCommand, recordResults, type NewCommand } from '../../shared/store/index.js';
import { ask, clientData, sendClientData } from './esp-client.js';
import { MODES, startFunctionHost, type FunctionHost, type Mode } from './function-host.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

let host: FunctionHost;
beforeAll(async () => {
  host = await startFunctionHost('esp-inbound');
});
afterAll(async () => host?.close());
beforeEach(async () => {
  await host.db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const make = async (over: Partial<NewCommand> = {}) =>
  (
    await createCommand(host.db.sql, {
      tenantId: 'kaa',
      endpointId: 'e-1',
      commandType: 'reboot',
      payload: null,
      ttlMillis: 60_000,
      awaitTimeoutSeconds: 0,
      origin: 'rest',
      ...over,
    })
  ).command;

const observeRows = () =>
  host.db.sql<{ commandType: string; observe: boolean }[]>`
    SELECT command_type AS "commandType", observe FROM endpoint_observe WHERE endpoint_id = 'e-1' ORDER BY command_type`;

describe.each(MODES)('esp-inbound, CloudEvents in %s mode', (mode: Mode) => {
  it('answers /command/{type} with the outstanding commands oldest first, echoing the request, and marks them fetched', async () => {
    const first = await make({ payload: { delay: 1 } });
    const second = await make({ payload: 'two' });
    await make({ commandType: 'other' });
    await make({ endpointId: 'e-2' });
    const request = clientData({ requestId: 7, appVersionName: 'app-v3' });
    const { subject, message, json } = await ask(host.url, mode, request);
    expect(subject).toBe(`kaa.v1.service.${host.kpc}.esp.ExtensionData`);
    expect(message).toMatchObject({
      correlationId: request.correlationId,
      appVersionName: 'app-v3',
      extensionInstanceName: host.cex,
      endpointId: 'e-1',
      resourcePath: '/command/reboot',
      requestId: 7,
      statusCode: 200,
    });
    expect(json).toEqual([
      { id: first.commandId, payload: { delay: 1 } },
      { id: second.commandId, payload: 'two' },
    ]);
    expect((await readCommand(host.db.sql, 'kaa', first))!.fetchedAt).not.toBeNull();
  });

  it.each([
    ['absent', {}, []],
    ['empty payload', undefined, []],
    ['true', { observe: true }, [{ commandType: 'reboot', observe: true }]],
    ['false', { observe: false }, [{ commandType: 'reboot', observe: false }]],
  ])('observe %s: 200 and the flag stored as sent', async (_label, payload, rows) => {
    await make();
    const { message, json } = await ask(host.url, mode, clientData({ ...(payload === undefined ? {} : { payload }) }));
    expect(message.statusCode).toBe(200);
    expect(json).toHaveLength(1);
    expect(await observeRows()).toEqual(rows);
  });

  it('answers [] when nothing is outstanding (executed, expired, zero-TTL and other endpoints do not count)', async () => {
    const executed = await make();
    expect(
      (await recordResults(host.db.sql, 'e-1', 'reboot', [{ commandId: executed.commandId, statusCode: 200 }])).outcomes.get(
        executed.commandId,
      ),
    ).toBe('recorded');
    const expiring = await make({ ttlMillis: 1 });
    await make({ ttlMillis: 0 });
    await make({ endpointId: 'e-2' });
    await untilDatabaseTimePasses(host.db.sql, expiring.expiresAt);
    const { message, json } = await ask(host.url, mode, clientData());
    expect(message.statusCode).toBe(200);
    expect(json).toEqual([]);
    // The other endpoint's command is outstanding for it, not for e-1.
    expect((await ask(host.url, mode, clientData({ endpointId: 'e-2' }))).json).toHaveLength(1);
  });

  it('answers /command with every type, each item naming its type; observe applies to "*"', async () => {
    const a = await make({ commandType: 'reboot', payload: 1 });
    const b = await make({ commandType: 'close-door', payload: 2 });
    const { message, json } = await ask(host.url, mode, clientData({ resourcePath: '/command', payload: { observe: false } }));
    expect(message.resourcePath).toBe('/command');
    expect(json).toEqual([
      { id: a.commandId, type: 'reboot', payload: 1 },
      { id: b.commandId, type: 'close-door', payload: 2 },
    ]);
    expect(await observeRows()).toEqual([{ commandType: '*', observe: false }]);
  });

  it('records a result array and a single result object: 200 {"statusCode":200,"reasonPhrase":"OK"}', async () => {
    const a = await make();
    const b = await make();
    const c = await make();
    const many = await ask(
      host.url,
      mode,
      clientData({
        resourcePath: '/result/reboot',
        appVersionName: 'app-v9',
        payload: [
          { id: a.commandId, statusCode: 200, reasonPhrase: 'done', payload: { up: true } },
          { id: b.commandId, statusCode: 500 },
        ],
      }),
    );
    expect(many.message).toMatchObject({ statusCode: 200, reasonPhrase: 'OK', resourcePath: '/result/reboot' });
    expect(many.json).toEqual({ statusCode: 200, reasonPhrase: 'OK' });
    const one = await ask(host.url, mode, clientData({ resourcePath: '/result/reboot', payload: { id: c.commandId, statusCode: 204 } }));
    expect(one.json).toEqual({ statusCode: 200, reasonPhrase: 'OK' });
    expect(await readCommand(host.db.sql, 'kaa', a)).toMatchObject({
      status: 'EXECUTED',
      statusCode: 200,
      reasonPhrase: 'done',
      responsePayload: { up: true },
      appVersionName: 'app-v9',
    });
    expect(await readCommand(host.db.sql, 'kaa', b)).toMatchObject({ status: 'EXECUTED', statusCode: 500, responsePayload: null });
    expect(await readCommand(host.db.sql, 'kaa', c)).toMatchObject({ status: 'EXECUTED', statusCode: 204 });
    // Executed commands are no longer outstanding.
    expect((await ask(host.url, mode, clientData())).json).toEqual([]);
  });

  it('accepts an identical repeat (also with payload null for absent) and refuses a different one with 409', async () => {
    const a = await make();
    const result = { id: a.commandId, statusCode: 200, reasonPhrase: 'OK' };
    await ask(host.url, mode, clientData({ resourcePath: '/result/reboot', payload: [result] }));
    const repeat = await ask(host.url, mode, clientData({ resourcePath: '/result/reboot', payload: { ...result, payload: null } }));
    expect(repeat.json).toEqual({ statusCode: 200, reasonPhrase: 'OK' });
    const other = await ask(host.url, mode, clientData({ resourcePath: '/result/reboot', payload: { ...result, statusCode: 500 } }));
    expect(other.message.statusCode).toBe(409);
    expect(other.json).toEqual({ statusCode: 409, reasonPhrase: `a different result is already recorded for command id ${a.commandId}` });
  });

  it('answers unknown and deleted ids 404 and expired ids 410, records the valid items, and reports the first failure', async () => {
    const live = await make();
    const gone = await make();
    const expiring = await make({ ttlMillis: 1 });
    await deleteCommand(host.db.sql, 'kaa', gone);
    await untilDatabaseTimePasses(host.db.sql, expiring.expiresAt);
    const expiredFirst = await ask(
      host.url,
      mode,
      clientData({
        resourcePath: '/result/reboot',
        payload: [
          { id: expiring.commandId, statusCode: 200 },
          { id: 999, statusCode: 200 },
          { id: live.commandId, statusCode: 200 },
          { id: gone.commandId, statusCode: 200 },
        ],
      }),
    );
    expect(expiredFirst.message.statusCode).toBe(410);
    expect(expiredFirst.json).toEqual({
      statusCode: 410,
      reasonPhrase: `expired command id ${expiring.commandId}; unknown or deleted command id 999, ${gone.commandId}`,
    });
    expect(expiredFirst.message.reasonPhrase).toBe((expiredFirst.json as { reasonPhrase: string }).reasonPhrase);
    expect((await readCommand(host.db.sql, 'kaa', live))!.status).toBe('EXECUTED');
    const unknownFirst = await ask(host.url, mode, clientData({ resourcePath: '/result/reboot', payload: [{ id: 999, statusCode: 200 }] }));
    expect(unknownFirst.json).toEqual({ statusCode: 404, reasonPhrase: 'unknown or deleted command id 999' });
    // A result for another type does not find the command.
    const wrongType = await ask(
      host.url,
      mode,
      clientData({ resourcePath: '/result/other', payload: { id: live.commandId, statusCode: 200 } }),
    );
    expect(wrongType.message.statusCode).toBe(404);
  });

  it.each([
    ['an unknown resource', { resourcePath: '/data/reboot' }, /unsupported resource path/],
    ['a trailing slash', { resourcePath: '/command/' }, /command type is missing/],
    ['extra levels', { resourcePath: '/command/a/b' }, /unsupported resource path/],
    ['/result without type', { resourcePath: '/result' }, /unsupported resource path/],
    ['a bad command type', { resourcePath: '/command/bad type!' }, /invalid command type/],
    ['a bad result type', { resourcePath: '/result/a.b' }, /invalid command type/],
    ['invalid JSON', { payload: '{"observe":' }, /not valid JSON/],
    ['invalid UTF-8', { payload: Buffer.from([0x7b, 0xff, 0x7d]) }, /UTF-8/],
    ['extra keys', { payload: { observe: true, since: 3 } }, /unknown key "since"/],
    ['a non-boolean observe', { payload: { observe: 'yes' } }, /observe must be a boolean/],
    ['an array as command request', { payload: [] }, /must be a JSON object/],
    ['an empty result', { resourcePath: '/result/reboot', payload: '' }, /payload is empty/],
    ['an empty result array', { resourcePath: '/result/reboot', payload: [] }, /result array is empty/],
    ['a result without statusCode', { resourcePath: '/result/reboot', payload: [{ id: 1 }] }, /statusCode/],
    ['a result with id 0', { resourcePath: '/result/reboot', payload: { id: 0, statusCode: 200 } }, /positive/],
    ['a result with an extra key', { resourcePath: '/result/reboot', payload: { id: 1, statusCode: 200, x: 1 } }, /unknown key "x"/],
    ['a result code out of range', { resourcePath: '/result/reboot', payload: { id: 1, statusCode: 99 } }, /statusCode/],
    ['a null endpointId', { endpointId: null }, /endpointId is missing/],
    ['an invalid endpointId', { endpointId: 'e 1/x' }, /invalid endpointId/],
  ])('answers 400 with the 1/KP error body for %s', async (_label, over, reason) => {
    const request = clientData(over as Parameters<typeof clientData>[0]);
    const { message, json } = await ask(host.url, mode, request);
    expect(message.statusCode).toBe(400);
    expect(message.reasonPhrase).toMatch(reason);
    expect(json).toEqual({ statusCode: 400, reasonPhrase: message.reasonPhrase });
    expect(message).toMatchObject({
      requestId: 42,
      endpointId: request.endpointId,
      resourcePath: request.resourcePath,
      correlationId: request.correlationId,
    });
  });

  it('answers 400 for a result payload Postgres cannot store (\\u0000), and records nothing', async () => {
    const a = await make();
    const body = `{"id":${a.commandId},"statusCode":200,"payload":"a\\u0000b"}`;
    const { message } = await ask(host.url, mode, clientData({ resourcePath: '/result/reboot', payload: body }));
    expect(message.statusCode).toBe(400);
    expect(message.reasonPhrase).toMatch(/u0000/);
    expect((await readCommand(host.db.sql, 'kaa', a))!.status).toBe('PENDING');
  });

  it('learns the app version from every message, even a refused one', async () => {
    await ask(host.url, mode, clientData({ appVersionName: 'app-v1' }));
    await ask(host.url, mode, clientData({ appVersionName: 'app-v2', resourcePath: '/nope' }));
    const [state] = await host.db.sql`SELECT app_version_name FROM endpoint_state WHERE endpoint_id = 'e-1'`;
    expect(state!.app_version_name).toBe('app-v2');
  });

  it.each([
    ['a Kaa reply subject of the answer type', 'kaa.v1.replica.kpc-1.esp.ExtensionData', 'kaa.v1.replica.kpc-1.esp.ExtensionData'],
    ['a Kaa reply subject of the request type', 'kaa.v1.replica.kpc-1.esp.ClientData', 'kaa.v1.replica.kpc-1.esp.ExtensionData'],
    ['a plain inbox', '_INBOX.abc.def', '_INBOX.abc.def'],
  ])('answers to the NATS reply subject: %s', async (_label, reply, expected) => {
    const answer = await ask(host.url, mode, clientData(), reply);
    expect(answer.subject).toBe(expected);
  });

  it('answers with a timeout that ends when the request expires', async () => {
    const { message } = await ask(host.url, mode, clientData({ timeout: 10_000 }));
    expect(message.timeout).toBeGreaterThan(8_000);
    expect(message.timeout).toBeLessThanOrEqual(10_000);
  });

  it('drops expired messages without an answer or any change', async () => {
    const a = await make();
    const posted = await sendClientData(
      host.url,
      mode,
      clientData({
        timestamp: Date.now() - 5_000,
        timeout: 1_000,
        resourcePath: '/result/reboot',
        payload: { id: a.commandId, statusCode: 200 },
      }),
    );
    expect(posted.status).toBe(204);
    expect((await readCommand(host.db.sql, 'kaa', a))!.status).toBe('PENDING');
    const [state] = await host.db.sql`SELECT 1 FROM endpoint_state WHERE endpoint_id = 'e-1'`;
    expect(state).toBeUndefined();
  });
});
