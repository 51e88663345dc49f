import { describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol/index.js';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Asserts `fn` throws a PayloadError with `code` and a message matching `reason`. */
function expectPayloadError(fn: () => unknown, code: P.PayloadErrorCode, reason: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(P.PayloadError);
  const err = caught as P.PayloadError;
  expect(err.code).toBe(code);
  expect(err.status).toBe(400);
  expect(err.message).toMatch(reason);
}

describe('parseJsonPayload', () => {
  it.each([
    ['{"a":1}', { a: 1 }],
    ['  [1, "x", null]\n', [1, 'x', null]],
    ['"text"', 'text'],
    ['null', null],
    ['"[[[[[[["', '[[[[[[['],
  ])('parses %s', (text, value) => {
    expect(P.parseJsonPayload(buf(text))).toEqual(value);
  });

  it.each([
    [Buffer.from([0xff, 0xfe]), 'INVALID_UTF8', /not valid UTF-8/],
    [Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 'INVALID_UTF8', /not valid UTF-8/], // encoded surrogate
    [buf(''), 'INVALID_JSON', /empty/],
    [buf(' \n'), 'INVALID_JSON', /empty/],
    [buf('{'), 'INVALID_JSON', /not valid JSON/],
    [buf("{'a':1}"), 'INVALID_JSON', /not valid JSON/],
    [buf('\ufeff{}'), 'INVALID_JSON', /not valid JSON/],
    [buf('[]]'), 'INVALID_JSON', /not valid JSON/],
    [buf('['.repeat(65) + ']'.repeat(65)), 'JSON_TOO_DEEP', /deeper than 64/],
    [buf('['.repeat(1_000_000)), 'JSON_TOO_DEEP', /deeper than 64/],
    [buf('{"a":'.repeat(100) + '1' + '}'.repeat(100)), 'JSON_TOO_DEEP', /deeper than 64/],
  ] as const)('rejects %#: %s', (bytes, code, reason) => {
    expectPayloadError(() => P.parseJsonPayload(bytes), code, reason);
  });

  it('accepts exactly 64 levels and escaped quotes inside strings', () => {
    expect(P.parseJsonPayload(buf('['.repeat(64) + ']'.repeat(64)))).toBeDefined();
    expect(P.parseJsonPayload(buf('["\\"[[[", {"k\\\\": "]"}]'))).toEqual(['"[[[', { 'k\\': ']' }]);
  });

  it('encodes JSON payloads, undefined as null', () => {
    expect(P.encodeJsonPayload([{ id: 1, payload: 'ü' }]).toString('utf8')).toBe('[{"id":1,"payload":"ü"}]');
    expect(P.encodeJsonPayload(undefined).toString()).toBe('null');
  });
});

describe('parseCommandRequest', () => {
  it.each([
    ['', {}],
    ['  ', {}],
    ['{}', {}],
    ['{"observe":true}', { observe: true }],
    ['{"observe":false}', { observe: false }],
  ])('accepts %j', (text, value) => {
    expect(P.parseCommandRequest(buf(text))).toEqual(value);
  });

  it.each([
    ['{"observe":"yes"}', 'INVALID_COMMAND_REQUEST', /observe must be a boolean/],
    ['{"observe":null}', 'INVALID_COMMAND_REQUEST', /observe must be a boolean/],
    ['{"observe":true,"x":1}', 'INVALID_COMMAND_REQUEST', /unknown key "x"/],
    ['{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}', 'INVALID_COMMAND_REQUEST', /unknown keys "a", "b", "c", "d", "e" \(and 1 more\)/],
    ['[]', 'INVALID_COMMAND_REQUEST', /command request must be a JSON object/],
    ['true', 'INVALID_COMMAND_REQUEST', /command request must be a JSON object/],
    ['null', 'INVALID_COMMAND_REQUEST', /command request must be a JSON object/],
    ['{"observe":tru}', 'INVALID_JSON', /not valid JSON/],
  ] as const)('rejects %s', (text, code, reason) => {
    expectPayloadError(() => P.parseCommandRequest(buf(text)), code, reason);
  });
});

describe('parseResultRequest', () => {
  it.each([
    ['{"id":1,"statusCode":200}', [{ id: 1, statusCode: 200, reasonPhrase: null, payload: null }]],
    [
      '[{"id":7,"statusCode":500,"reasonPhrase":"boom","payload":{"x":[1]}},{"id":2147483647,"statusCode":100,"payload":null}]',
      [
        { id: 7, statusCode: 500, reasonPhrase: 'boom', payload: { x: [1] } },
        { id: 2_147_483_647, statusCode: 100, reasonPhrase: null, payload: null },
      ],
    ],
    ['{"id":3.0,"statusCode":599,"reasonPhrase":"","payload":"text"}', [{ id: 3, statusCode: 599, reasonPhrase: '', payload: 'text' }]],
  ])('accepts %s', (text, value) => {
    expect(P.parseResultRequest(buf(text))).toEqual(value);
  });

  it.each([
    ['[]', /result array is empty/],
    ['{}', /invalid result: id must be an integer/],
    ['{"id":0,"statusCode":200}', /id must be a positive integer/],
    ['{"id":-4,"statusCode":200}', /id must be a positive integer/],
    ['{"id":2147483648,"statusCode":200}', /id must not exceed 2147483647/],
    ['{"id":1.5,"statusCode":200}', /id must be an integer/],
    ['{"id":"1","statusCode":200}', /id must be an integer/],
    ['{"id":1}', /statusCode must be an integer/],
    ['{"id":1,"statusCode":99}', /statusCode must be from 100 to 599/],
    ['{"id":1,"statusCode":600}', /statusCode must be from 100 to 599/],
    ['{"id":1,"statusCode":200.5}', /statusCode must be an integer/],
    ['{"id":1,"statusCode":1e400}', /statusCode must be an integer/],
    ['{"id":1,"statusCode":200,"reasonPhrase":5}', /reasonPhrase must be a string/],
    [`{"id":1,"statusCode":200,"reasonPhrase":"${'r'.repeat(1025)}"}`, /reasonPhrase must be at most 1024 characters/],
    ['{"id":1,"statusCode":200,"extra":true}', /unknown key "extra"/],
    ['[{"id":1,"statusCode":200},{"id":2,"statusCode":7}]', /invalid result \[1\]: statusCode/],
    ['[{"id":1,"statusCode":200}, 5]', /invalid result \[1\]: result must be a JSON object/],
    ['"x"', /invalid result: result must be a JSON object/],
    [JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ id: i + 1, statusCode: 200 }))), /at most 1000 results/],
  ])('rejects %s', (text, reason) => {
    expectPayloadError(() => P.parseResultRequest(buf(text)), 'INVALID_RESULT_REQUEST', reason);
  });

  it('passes JSON-level failures through with their own code', () => {
    expectPayloadError(() => P.parseResultRequest(buf('')), 'INVALID_JSON', /empty/);
    expectPayloadError(() => P.parseResultRequest(Buffer.from([0xc0])), 'INVALID_UTF8', /UTF-8/);
  });

  it('keeps reasons short enough for a reasonPhrase even for hostile keys', () => {
    const keys = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`${'k'.repeat(500)}${i}`, 1]));
    try {
      P.parseResultRequest(buf(JSON.stringify({ id: 1, statusCode: 200, ...keys })));
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(600);
    }
  });
});

describe('response and error bodies', () => {
  it('validates command response items', () => {
    expect(P.commandResponseItemSchema.safeParse({ id: 1, payload: { a: 1 } }).success).toBe(true);
    expect(P.commandResponseItemSchema.safeParse({ id: 1, payload: null, type: 'x' }).success).toBe(false);
    expect(P.typedCommandResponseItemSchema.safeParse({ id: 1, type: 'reboot', payload: null }).success).toBe(true);
    expect(P.typedCommandResponseItemSchema.safeParse({ id: 1, type: 'bad type', payload: null }).success).toBe(false);
    expect(P.typedCommandResponseItemSchema.safeParse({ id: 0, type: 'a', payload: null }).success).toBe(false);
  });

  it('builds and validates the 1/KP error body', () => {
    const body = P.kpErrorBody(400, 'payload is not valid JSON');
    expect(P.kpErrorBodySchema.parse(body)).toEqual({ statusCode: 400, reasonPhrase: 'payload is not valid JSON' });
    expect(P.kpErrorBodySchema.safeParse({ statusCode: 400 }).success).toBe(false);
    expect(P.kpErrorBodySchema.safeParse({ statusCode: 400, reasonPhrase: 'x', extra: 1 }).success).toBe(false);
    expect(JSON.parse(P.encodeJsonPayload(body).toString())).toEqual(body);
  });
});
