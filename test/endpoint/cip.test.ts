import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../../functions/command-submit/index.js';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import { CLOUDEVENT_PATH } from '../../shared/host/units.js';
import {
  encodeCommandInvocationRequest,
  type CommandInvocationRequest,
  type CommandInvocationResult,
} from '../../shared/protocol/index.js';
import { readCommand, recordResults } from '../../shared/store/index.js';
import { referenceType } from '../protocol/reference.js';
import { MODES, onlyMessage, postEvent, startFunctionHost, type FunctionHost, type Mode } from './function-host.js';

const resultType = referenceType('commandInvocationResult');
const REPLY = 'kaa.v1.replica.caller-1.cip.command-result';

let host: FunctionHost;
let url: string;
beforeAll(async () => {
  host = await startFunctionHost('command-submit', { CEX_COMMAND_TTL_MILLIS: '45000' });
  url = `${host.url}${CLOUDEVENT_PATH}`;
});
afterAll(async () => host?.close());
beforeEach(async () => {
  await host.db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const request = (over: Partial<CommandInvocationRequest> = {}): CommandInvocationRequest => ({
  correlationId: randomUUID(),
  timestamp: Date.now(),
  timeout: 0,
  endpointId: 'e-1',
  commandType: 'reboot',
  commandId: 7,
  payload: Buffer.from('{"delay":3}'),
  ...over,
});

/** Sends a request as the bridge forwards it; `reply` null = the NATS message had no reply subject. */
const send = (mode: Mode, req: CommandInvocationRequest, reply: string | null = REPLY) =>
  postEvent(url, mode, EVENT_TYPES.cipCommandRequest, encodeCommandInvocationRequest(req), {
    subject: `kaa.v1.service.${host.cex}.cip.command-request`,
    ...(reply === null ? {} : { reply }),
  });

/** The immediate result, decoded with the reference schema. */
async function immediate(
  mode: Mode,
  req: CommandInvocationRequest,
  reply = REPLY,
): Promise<{ subject: string; result: CommandInvocationResult }> {
  const { subject, data } = onlyMessage(await send(mode, req, reply));
  return { subject, result: { ...(resultType.fromBuffer(data) as CommandInvocationResult) } };
}

const ref = { endpointId: 'e-1', commandType: 'reboot', commandId: 7 };

describe.each(MODES)('12/CIP in command-submit, %s mode', (mode: Mode) => {
  it("creates the command with the caller's id, TTL = timeout, reply subject and correlationId, pushes it, and answers nothing yet", async () => {
    const req = request({ timeout: 30_000 });
    const posted = await send(mode, req);
    expect(posted.status).toBe(204);
    const command = await readCommand(host.db.sql, 'kaa', ref);
    expect(command).toMatchObject({
      status: 'PENDING',
      origin: 'cip',
      requestPayload: { delay: 3 },
      ttlMillis: 30_000,
      cipReplySubject: REPLY,
      cipCorrelationId: req.correlationId,
      tenantId: 'kaa',
    });
    const [push] = await host.db.sql`SELECT endpoint_id, command_type FROM outbox WHERE kind = 'push'`;
    expect(push).toEqual({ endpoint_id: 'e-1', command_type: 'reboot' });
  });

  it('uses the configured TTL when the request has no timeout, and null bytes as the JSON null payload', async () => {
    expect((await send(mode, request({ payload: null }))).status).toBe(204);
    expect(await readCommand(host.db.sql, 'kaa', ref)).toMatchObject({ ttlMillis: 45_000, requestPayload: null });
  });

  it('replaces the last token of a Kaa reply subject with command-result, and keeps a plain inbox as is', async () => {
    await send(mode, request(), 'kaa.v1.replica.caller-1.cip.command-request');
    expect((await readCommand(host.db.sql, 'kaa', ref))!.cipReplySubject).toBe(REPLY);
    await send(mode, request({ commandId: 8 }), '_INBOX.xyz.1');
    expect((await readCommand(host.db.sql, 'kaa', { ...ref, commandId: 8 }))!.cipReplySubject).toBe('_INBOX.xyz.1');
  });

  it.each([
    ['a bad endpointId', 400, { endpointId: 'e 1' }, /invalid endpointId/],
    ['an empty endpointId', 400, { endpointId: '' }, /invalid endpointId/],
    ['a bad commandType', 400, { commandType: 're.boot' }, /invalid commandType/],
    ['a too long commandType', 400, { commandType: 'x'.repeat(129) }, /invalid commandType/],
    ['commandId 0', 400, { commandId: 0 }, /invalid commandId 0/],
    ['a negative commandId', 400, { commandId: -5 }, /invalid commandId -5/],
    ['a payload that is not JSON', 400, { payload: Buffer.from('{nope') }, /not valid JSON/],
    ['an empty payload', 400, { payload: Buffer.alloc(0) }, /payload is empty/],
    ['a payload Postgres cannot store', 400, { payload: Buffer.from('"a\\u0000"') }, /u0000/],
    ['a payload that is not UTF-8', 400, { payload: Buffer.from([0x22, 0xff, 0x22]) }, /UTF-8/],
    ['a payload over CEX_MAX_PAYLOAD_BYTES', 413, { payload: Buffer.from(JSON.stringify('x'.repeat(300_000))) }, /larger than/],
  ])('answers %s at once with %i and creates nothing', async (_label, statusCode, over, reason) => {
    const req = request(over as Partial<CommandInvocationRequest>);
    const { subject, result } = await immediate(mode, req);
    expect(subject).toBe(REPLY);
    expect(result).toMatchObject({
      correlationId: req.correlationId,
      appVersionName: '',
      endpointId: req.endpointId,
      commandType: req.commandType,
      commandId: req.commandId,
      statusCode,
      payload: null,
    });
    expect(result.reasonPhrase).toMatch(reason);
    const [{ count }] = (await host.db.sql`SELECT count(*)::int AS count FROM commands`) as unknown as [{ count: number }];
    expect(count).toBe(0);
  });

  it('answers 409 for the same id with another payload, and leaves the first command alone', async () => {
    await send(mode, request());
    const { result } = await immediate(mode, request({ payload: Buffer.from('{"delay":4}') }));
    expect(result.statusCode).toBe(409);
    expect(result.reasonPhrase).toMatch(/already exists/);
    expect((await readCommand(host.db.sql, 'kaa', ref))!.requestPayload).toEqual({ delay: 3 });
  });

  it('treats the same id and payload as a retry: the new caller is answered later, at once via the outbox when final', async () => {
    await send(mode, request());
    const retry = request({ correlationId: 'retry-1', payload: Buffer.from('{ "delay" : 3 }') });
    expect((await send(mode, retry, 'kaa.v1.replica.caller-2.cip.command-result')).status).toBe(204);
    expect(await readCommand(host.db.sql, 'kaa', ref)).toMatchObject({
      cipReplySubject: 'kaa.v1.replica.caller-2.cip.command-result',
      cipCorrelationId: 'retry-1',
    });
    await host.db.sql`DELETE FROM outbox`;
    await recordResults(host.db.sql, 'e-1', 'reboot', [{ commandId: 7, statusCode: 200, payload: 'ok' }]);
    await host.db.sql`DELETE FROM outbox`;
    expect((await send(mode, request({ correlationId: 'retry-2' }), 'kaa.v1.replica.caller-3.cip.command-result')).status).toBe(204);
    const [row] = await host.db.sql`SELECT message FROM outbox WHERE kind = 'cip_result'`;
    expect(row!.message).toMatchObject({
      replySubject: 'kaa.v1.replica.caller-3.cip.command-result',
      correlationId: 'retry-2',
      statusCode: 200,
      payload: 'ok',
    });
  });

  it('runs a request without a reply subject, and answers nobody when refusing one', async () => {
    expect((await send(mode, request(), null)).status).toBe(204);
    expect(await readCommand(host.db.sql, 'kaa', ref)).toMatchObject({ status: 'PENDING', cipReplySubject: null });
    expect((await send(mode, request({ commandId: 0 }), null)).status).toBe(204);
    expect((await send(mode, request({ payload: Buffer.from('"other"') }), null)).status).toBe(204);
  });

  it('drops expired requests (204) and refuses undecodable ones as bad events (400), answering neither', async () => {
    expect((await send(mode, request({ timestamp: Date.now() - 60_000, timeout: 1_000 }))).status).toBe(204);
    const garbage = await postEvent(url, mode, EVENT_TYPES.cipCommandRequest, Buffer.from('garbage!'), { reply: REPLY });
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.text)).toMatchObject({ code: 'INVALID_AVRO' });
    const [{ count }] = (await host.db.sql`SELECT count(*)::int AS count FROM commands`) as unknown as [{ count: number }];
    expect(count).toBe(0);
  });
});

describe('12/CIP with the database down', () => {
  it('answers 503 problem+json so the bridge retries, and still refuses invalid requests at once', async () => {
    // The same unit served on a database that cannot be reached; send() posts to it meanwhile.
    const down = await startFunctionHost('command-submit', { DATABASE_URL: 'postgres://cex:cex@127.0.0.1:1/none' });
    const up = url;
    url = `${down.url}${CLOUDEVENT_PATH}`;
    try {
      const posted = await send('binary', request());
      expect(posted.status).toBe(503);
      expect(JSON.parse(posted.text)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
      const { result } = await immediate('binary', request({ commandId: 0 }));
      expect(result.statusCode).toBe(400);
    } finally {
      url = up;
      await down.close();
    }
  });
});
