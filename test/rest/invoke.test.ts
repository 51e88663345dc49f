import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, otherInstance, type RestHost } from '../helpers/rest-host.js';
import { recordEndpointResults, expireDue } from '../../shared/commands/index.js';
import { descriptorSchema } from '../../shared/rest/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { waitUntil } from '../helpers/wait.js';

let db: TestDatabase;
let host: RestHost;
let device: Runtime; // plays the endpoint side: records results like esp-inbound would
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db, {
    CEX_MAX_PAYLOAD_BYTES: '2048',
    CEX_COMMAND_TTL_MILLIS: '45000',
    CEX_CALLBACK_ALLOWED_HOSTS: 'hooks.example.com',
  });
  device = otherInstance(db);
});
afterAll(async () => {
  await host.stop();
  await device.shutdown();
  await db.drop();
});

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const endpoint = () => `ep-${++seq}`;

function invoke(endpointId: string, type: string, query = '', init: RequestInit = {}) {
  return fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/${type}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"on":true}',
    ...init,
  });
}

/**
 * Records a result for the newest command of (endpoint, type) once it exists
 * and, unless `waiting` is false, once its caller is waiting for it (the
 * waiter registered): the order a sync caller meets, reached by condition.
 */
async function answerSoon(
  endpointId: string,
  type: string,
  result: { statusCode: number; reasonPhrase?: string; payload?: unknown },
  waiting = true,
) {
  let id: number | undefined;
  await waitUntil(
    async () => {
      const [row] = await db.sql<{ id: number }[]>`
      SELECT command_id AS id FROM commands WHERE endpoint_id = ${endpointId} AND command_type = ${type} ORDER BY command_id DESC LIMIT 1`;
      id = row?.id;
      return id !== undefined && (!waiting || host.rt.waiters.size > 0);
    },
    `command of ${endpointId}${waiting ? ' and its waiter' : ''}`,
  );
  return recordEndpointResults(device, endpointId, type, [{ commandId: id!, ...result } as never], 'meter-v1');
}

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { code: string; status: number; title: string; detail: string; type: string };
  expect(body.status).toBe(res.status);
  expect(body.type).toMatch(/^urn:cex:problem:/);
  return body;
}

describe('invoke: parameters', () => {
  it.each([
    ['bad endpoint id', 'bad%20id', 'reboot', '', 'INVALID_ENDPOINT_ID'],
    ['endpoint id too long', 'e'.repeat(129), 'reboot', '', 'INVALID_ENDPOINT_ID'],
    ['bad command type', 'e-1', 're.boot', '', 'INVALID_COMMAND_TYPE'],
    ['command type too long', 'e-1', 't'.repeat(129), '', 'INVALID_COMMAND_TYPE'],
    ['awaitTimeout negative', 'e-1', 'reboot', '?awaitTimeout=-1', 'INVALID_AWAIT_TIMEOUT'],
    ['awaitTimeout above 60', 'e-1', 'reboot', '?awaitTimeout=61', 'INVALID_AWAIT_TIMEOUT'],
    ['awaitTimeout fraction', 'e-1', 'reboot', '?awaitTimeout=1.5', 'INVALID_AWAIT_TIMEOUT'],
    ['awaitTimeout text', 'e-1', 'reboot', '?awaitTimeout=soon', 'INVALID_AWAIT_TIMEOUT'],
    ['awaitTimeout empty', 'e-1', 'reboot', '?awaitTimeout=', 'INVALID_AWAIT_TIMEOUT'],
    ['awaitTimeout twice', 'e-1', 'reboot', '?awaitTimeout=1&awaitTimeout=2', 'INVALID_AWAIT_TIMEOUT'],
    ['commandTtl negative', 'e-1', 'reboot', '?commandTtl=-5', 'INVALID_COMMAND_TTL'],
    ['commandTtl past int32', 'e-1', 'reboot', '?commandTtl=2147483648', 'INVALID_COMMAND_TTL'],
    ['commandTtl text', 'e-1', 'reboot', '?commandTtl=1m', 'INVALID_COMMAND_TTL'],
    ['callbackUrl not a URL', 'e-1', 'reboot', '?callbackUrl=nope', 'INVALID_CALLBACK_URL'],
    ['callbackUrl ftp', 'e-1', 'reboot', '?callbackUrl=ftp://hooks.example.com/x', 'INVALID_CALLBACK_URL'],
    ['callbackUrl host not allowed', 'e-1', 'reboot', '?callbackUrl=https://evil.example.org/x', 'CALLBACK_HOST_NOT_ALLOWED'],
  ])('%s → 400', async (_name, endpointId, type, query, code) => {
    const res = await invoke(endpointId, type, query);
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe(code);
    const [count] = await db.sql`SELECT count(*)::int AS n FROM commands WHERE endpoint_id = ${endpointId}`;
    expect(count!.n).toBe(0);
  });

  it('accepts the Kaa example types and the edges of every range', async () => {
    for (const [type, query] of [
      ['SWITCH', '?awaitTimeout=0&commandTtl=0'],
      ['RELAY_SWITCH', '?awaitTimeout=0&commandTtl=2147483647'],
      ['close-door', '?awaitTimeout=0'],
    ]) {
      expect((await invoke('e.x~y_z-1', type!, query)).status).toBe(202);
    }
  });

  it('refuses awaitTimeout above CEX_MAX_AWAIT_TIMEOUT_SECONDS', async () => {
    const capped = await startRestHost(db, { CEX_MAX_AWAIT_TIMEOUT_SECONDS: '10' });
    try {
      const res = await fetch(`${capped.url}/api/v1/endpoints/e-cap/commands/reboot?awaitTimeout=11`, { method: 'POST' });
      expect((await problem(res)).code).toBe('INVALID_AWAIT_TIMEOUT');
    } finally {
      await capped.stop();
    }
  });

  // The variable may go up to 3600: a raised maximum takes effect (it was capped at 60 before).
  it('takes awaitTimeout up to a raised CEX_MAX_AWAIT_TIMEOUT_SECONDS, refuses above it, and documents it', async () => {
    const raised = await startRestHost(db, { CEX_MAX_AWAIT_TIMEOUT_SECONDS: '120' });
    try {
      const over = await fetch(`${raised.url}/api/v1/endpoints/e-raised/commands/reboot?awaitTimeout=121`, { method: 'POST' });
      expect(over.status).toBe(400);
      expect(await over.json()).toMatchObject({
        code: 'INVALID_AWAIT_TIMEOUT',
        detail: 'awaitTimeout: "121" is not valid: must be at most 120 seconds',
      });

      const pending = fetch(`${raised.url}/api/v1/endpoints/e-raised/commands/reboot?awaitTimeout=90`, { method: 'POST' });
      let id: number | undefined;
      await waitUntil(async () => {
        const [row] = await db.sql<
          { id: number }[]
        >`SELECT command_id AS id FROM commands WHERE endpoint_id = 'e-raised' AND command_type = 'reboot'`;
        id = row?.id;
        return id !== undefined && raised.rt.waiters.size > 0;
      }, 'the 90 s sync invoke and its waiter');
      await recordEndpointResults(raised.rt, 'e-raised', 'reboot', [{ commandId: id!, statusCode: 200 }], 'meter-v1');
      const answered = await pending;
      expect(answered.status).toBe(200);
      expect(answered.headers.get('x-command-id')).toBe(String(id));

      const doc = (await (await fetch(`${raised.url}/openapi.json`)).json()) as {
        paths: Record<string, { post?: { parameters?: { name: string; schema: unknown }[] } }>;
      };
      const params = doc.paths['/api/v1/endpoints/{endpointId}/commands/{commandType}']!.post!.parameters!;
      expect(params.find((p) => p.name === 'awaitTimeout')?.schema).toMatchObject({ type: 'integer', minimum: 0, maximum: 120 });
    } finally {
      await raised.stop();
    }
  });

  it('uses the configured TTL by default and the given one otherwise', async () => {
    const byDefault = (await (await invoke(endpoint(), 'reboot', '?awaitTimeout=0')).json()) as { createdAt: string; expiresAt: string };
    expect(Date.parse(byDefault.expiresAt) - Date.parse(byDefault.createdAt)).toBe(45_000);
    const given = (await (await invoke(endpoint(), 'reboot', '?awaitTimeout=0&commandTtl=1234')).json()) as {
      createdAt: string;
      expiresAt: string;
    };
    expect(Date.parse(given.expiresAt) - Date.parse(given.createdAt)).toBe(1234);
  });
});

describe('invoke: bodies', () => {
  it.each([
    ['a JSON object', 'application/json', '{"a":[1,2]}', { a: [1, 2] }],
    ['a JSON string', 'application/json; charset=utf-8', '"on"', 'on'],
    ['a JSON number', 'application/json', '42', 42],
    ['JSON null', 'application/json', 'null', null],
    ['a vendor +json type', 'application/vnd.kaa+json', '[true]', [true]],
    ['plain text', 'text/plain', 'reboot now ✓', 'reboot now ✓'],
    ['an empty body', 'application/json', '', null],
    ['an empty body without a type', undefined, '', null],
  ])('stores %s as the request payload', async (_name, type, body, expected) => {
    const headers: Record<string, string> = type ? { 'content-type': type } : {};
    const res = await invoke(endpoint(), 'set', '?awaitTimeout=0', { headers, body });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { requestPayload: unknown }).requestPayload).toEqual(expected);
  });

  it.each([
    ['invalid JSON', 'application/json', '{"a":', 400, 'INVALID_JSON'],
    ['JSON nested too deep', 'application/json', '['.repeat(100) + ']'.repeat(100), 400, 'INVALID_JSON'],
    ['bad UTF-8 JSON', 'application/json', Buffer.from([0x22, 0xff, 0x22]), 400, 'INVALID_JSON'],
    ['bad UTF-8 text', 'text/plain', Buffer.from([0xc3, 0x28]), 400, 'INVALID_UTF8'],
    ['a NUL in a JSON string', 'application/json', '"a\\u0000b"', 400, 'UNSUPPORTED_JSON'],
    ['XML', 'application/xml', '<a/>', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['no content type', undefined, Buffer.from('{}'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['form data', 'application/x-www-form-urlencoded', 'a=1', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['latin-1 text', 'text/plain; charset=iso-8859-1', 'x', 415, 'UNSUPPORTED_CHARSET'],
    ['a body over CEX_MAX_PAYLOAD_BYTES', 'application/json', JSON.stringify('x'.repeat(3000)), 413, 'PAYLOAD_TOO_LARGE'],
  ])('refuses %s', async (_name, type, body, status, code) => {
    const endpointId = endpoint();
    const headers: Record<string, string> = type ? { 'content-type': type } : {};
    const res = await invoke(endpointId, 'set', '?awaitTimeout=0', { headers, body: body as string });
    expect(res.status).toBe(status);
    expect((await problem(res)).code).toBe(code);
    const [count] = await db.sql`SELECT count(*)::int AS n FROM commands WHERE endpoint_id = ${endpointId}`;
    expect(count!.n).toBe(0);
  });
});

describe('invoke: responses', () => {
  it('answers 202 at once with Location and the descriptor when awaitTimeout=0', async () => {
    const endpointId = endpoint();
    const res = await invoke(endpointId, 'reboot', '?awaitTimeout=0');
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/v1/endpoints/${endpointId}/commands/reboot/1`);
    const body = await res.json();
    expect(descriptorSchema.parse(body)).toBeTruthy();
    expect(body).toMatchObject({
      commandId: 1,
      commandType: 'reboot',
      endpointId,
      status: 'PENDING',
      statusCode: null,
      reasonPhrase: null,
      requestPayload: { on: true },
      responsePayload: null,
      appVersionName: null,
      delivery: { pushes: 0, lastPushedAt: null, fetchedAt: null },
    });
    for (const field of ['createdAt', 'updatedAt', 'expiresAt'] as const) expect((body as Record<string, string>)[field]).toMatch(ISO_UTC);
    const second = await invoke(endpointId, 'reboot', '?awaitTimeout=0');
    expect(second.headers.get('location')).toBe(`/api/v1/endpoints/${endpointId}/commands/reboot/2`);
  });

  it('answers 200 with the result payload and X-Command-* headers when the result arrives in time', async () => {
    const endpointId = endpoint();
    const [res] = await Promise.all([
      invoke(endpointId, 'reboot', '?awaitTimeout=10'),
      answerSoon(endpointId, 'reboot', { statusCode: 201, reasonPhrase: 'Rebooted, 5 s ✓', payload: { uptime: 0 } }),
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ uptime: 0 });
    expect(res.headers.get('x-command-id')).toBe('1');
    expect(res.headers.get('x-command-status-code')).toBe('201');
    expect(decodeURIComponent(res.headers.get('x-command-reason-phrase')!)).toBe('Rebooted, 5 s ✓');
    expect(res.headers.get('x-command-reason-phrase')).not.toMatch(/[ ✓]/);
    expect(res.headers.get('location')).toBe(`/api/v1/endpoints/${endpointId}/commands/reboot/1`);
  });

  it('answers 200 with null for a result without payload, and 200 for a failed execution', async () => {
    const endpointId = endpoint();
    const [res] = await Promise.all([
      invoke(endpointId, 'reboot', '?awaitTimeout=10'),
      answerSoon(endpointId, 'reboot', { statusCode: 500 }),
    ]);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('null');
    expect(res.headers.get('x-command-status-code')).toBe('500');
    expect(res.headers.get('x-command-reason-phrase')).toBeNull();
  });

  // Answered 200 with a result recorded only once the caller was seen
  // waiting: without awaitTimeout the invoke waited (else 202 at once).
  it('waits by default (awaitTimeout 5)', async () => {
    const endpointId = endpoint();
    const [res] = await Promise.all([invoke(endpointId, 'reboot'), answerSoon(endpointId, 'reboot', { statusCode: 200, payload: 'ok' })]);
    expect(res.status).toBe(200);
    expect(await res.json()).toBe('ok');
  });

  it('answers 202 PENDING when no result comes within awaitTimeout', async () => {
    const started = Date.now();
    const res = await invoke(endpoint(), 'reboot', '?awaitTimeout=1');
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(((await res.json()) as { status: string }).status).toBe('PENDING');
  });

  it('answers 202 EXPIRED when the command expires while the caller waits', async () => {
    const sweeper = setInterval(() => void expireDue(device), 100);
    try {
      const res = await invoke(endpoint(), 'reboot', '?awaitTimeout=10&commandTtl=300');
      expect(res.status).toBe(202);
      expect(((await res.json()) as { status: string }).status).toBe('EXPIRED');
    } finally {
      clearInterval(sweeper);
    }
  });

  it('answers 404 when the command is deleted while the caller waits', async () => {
    const endpointId = endpoint();
    const pending = invoke(endpointId, 'reboot', '?awaitTimeout=10');
    await waitUntil(() => host.rt.waiters.size === 1, 'the caller waiting');
    expect((await fetch(`${host.url}/api/v1/endpoints/${endpointId}/commands/reboot/1`, { method: 'DELETE' })).status).toBe(204);
    const res = await pending;
    expect(res.status).toBe(404);
    expect((await problem(res)).code).toBe('COMMAND_NOT_FOUND');
  });

  it('honours X-Forwarded-Prefix in Location, and ignores one that is not a plain path', async () => {
    const endpointId = endpoint();
    const res = await invoke(endpointId, 'reboot', '?awaitTimeout=0', {
      headers: { 'content-type': 'application/json', 'x-forwarded-prefix': '/cex' },
    });
    expect(res.headers.get('location')).toBe(`/cex/api/v1/endpoints/${endpointId}/commands/reboot/1`);
    const evil = await invoke(endpointId, 'reboot', '?awaitTimeout=0', {
      headers: { 'content-type': 'application/json', 'x-forwarded-prefix': '//evil.example' },
    });
    expect(evil.headers.get('location')).toBe(`/api/v1/endpoints/${endpointId}/commands/reboot/2`);
  });

  it('replays an Idempotency-Key and refuses it with another body', async () => {
    const endpointId = endpoint();
    const send = (body: string, key = 'order-42') =>
      invoke(endpointId, 'reboot', '?awaitTimeout=0', { headers: { 'content-type': 'application/json', 'idempotency-key': key }, body });
    const first = (await (await send('{"n":1}')).json()) as { commandId: number };
    const again = await send('{"n":1}');
    expect(again.status).toBe(202);
    expect(((await again.json()) as { commandId: number }).commandId).toBe(first.commandId);
    const conflict = await send('{"n":2}');
    expect(conflict.status).toBe(409);
    expect((await problem(conflict)).code).toBe('IDEMPOTENCY_KEY_REUSED');
    const bad = await send('{"n":1}', 'x'.repeat(256));
    expect((await problem(bad)).code).toBe('INVALID_IDEMPOTENCY_KEY');
    const [outbox] = await db.sql`SELECT generation FROM outbox WHERE endpoint_id = ${endpointId}`;
    expect(outbox!.generation).toBe(1); // the replay did not push again
  });

  it('answers an idempotent replay of an executed command with its result', async () => {
    const endpointId = endpoint();
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'k-done' };
    await invoke(endpointId, 'reboot', '?awaitTimeout=0', { headers });
    await answerSoon(endpointId, 'reboot', { statusCode: 200, payload: 7 }, false);
    const replay = await invoke(endpointId, 'reboot', '?awaitTimeout=0', { headers });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toBe(7);
  });

  it('stores an allowed callbackUrl', async () => {
    const endpointId = endpoint();
    const res = await invoke(
      endpointId,
      'reboot',
      '?awaitTimeout=0&callbackUrl=' + encodeURIComponent('https://hooks.example.com/cex?x=1'),
    );
    expect(res.status).toBe(202);
    const [row] = await db.sql`SELECT callback_url AS url FROM commands WHERE endpoint_id = ${endpointId}`;
    expect(row!.url).toBe('https://hooks.example.com/cex?x=1');
  });

  it('releases the waiter when the client disconnects', async () => {
    const abort = new AbortController();
    const pending = invoke(endpoint(), 'reboot', '?awaitTimeout=60', { signal: abort.signal }).catch(() => 'aborted');
    await waitUntil(() => host.rt.waiters.size === 1, 'the caller waiting');
    abort.abort();
    expect(await pending).toBe('aborted');
    // Released by the socket's close: the deadline is far inside its 60 s awaitTimeout.
    await waitUntil(() => host.rt.waiters.size === 0, 'the waiter released', 20_000);
  });

  it('answers 405 with Allow for a method the path does not take', async () => {
    const res = await fetch(`${host.url}/api/v1/endpoints/e-1/commands/reboot`, { method: 'GET' });
    expect(res.status).toBe(405);
    expect((await problem(res)).code).toBe('METHOD_NOT_ALLOWED');
  });
});
