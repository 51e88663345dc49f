import { describe, expect, it } from 'vitest';
import { checkCipRequest, commandListAnswer, kpError, resultAnswer, responseSubject } from '../../shared/endpoint/index.js';
import type { ResultOutcome } from '../../shared/store/index.js';

const outcomes = (entries: [number, ResultOutcome][]) => new Map(entries);

describe('resultAnswer', () => {
  it('is 200 OK when every result is recorded or an identical repeat', () => {
    expect(
      resultAnswer(
        [1, 2],
        outcomes([
          [1, 'recorded'],
          [2, 'duplicate'],
        ]),
      ),
    ).toEqual({
      statusCode: 200,
      reasonPhrase: 'OK',
      payload: { statusCode: 200, reasonPhrase: 'OK' },
    });
  });

  it.each([
    [
      [
        [1, 'conflict'],
        [2, 'not_found'],
      ],
      409,
    ],
    [
      [
        [1, 'not_found'],
        [2, 'expired'],
      ],
      404,
    ],
    [
      [
        [1, 'recorded'],
        [2, 'expired'],
        [3, 'conflict'],
      ],
      410,
    ],
  ] as [[number, ResultOutcome][], number][])('takes the code of the first refused result in message order (%j → %i)', (entries, code) => {
    const answer = resultAnswer(
      entries.map(([id]) => id),
      outcomes(entries),
    );
    expect(answer.statusCode).toBe(code);
    expect(answer.payload).toEqual({ statusCode: code, reasonPhrase: answer.reasonPhrase });
  });

  it('names the refused ids of each kind, at most ten per kind, and counts repeats once', () => {
    const ids = Array.from({ length: 13 }, (_, i) => i + 1);
    const answer = resultAnswer(
      [...ids, 1, 99],
      outcomes([...ids.map((id): [number, ResultOutcome] => [id, 'not_found']), [99, 'conflict']]),
    );
    expect(answer.reasonPhrase).toBe(
      'unknown or deleted command id 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 (and 3 more); a different result is already recorded for command id 99',
    );
  });

  it('treats an id the store did not classify as not found', () => {
    expect(resultAnswer([5], new Map()).statusCode).toBe(404);
  });
});

describe('commandListAnswer and kpError', () => {
  const commands = [
    { commandType: 'reboot', commandId: 3, payload: { a: 1 } },
    { commandType: 'x', commandId: 1, payload: null },
  ];
  it('lists items without type for one type, with type for all types', () => {
    expect(commandListAnswer(commands, false).payload).toEqual([
      { id: 3, payload: { a: 1 } },
      { id: 1, payload: null },
    ]);
    expect(commandListAnswer(commands, true).payload).toEqual([
      { id: 3, type: 'reboot', payload: { a: 1 } },
      { id: 1, type: 'x', payload: null },
    ]);
  });
  it('builds the 1/KP error body', () => {
    expect(kpError(400, 'bad')).toEqual({ statusCode: 400, reasonPhrase: 'bad', payload: { statusCode: 400, reasonPhrase: 'bad' } });
  });
});

describe('responseSubject', () => {
  it.each([
    [undefined, undefined],
    ['kaa.v1.replica.r1.cip.command-request', 'kaa.v1.replica.r1.cip.command-result'],
    ['kaa.v1.replica.r1.cip.command-result', 'kaa.v1.replica.r1.cip.command-result'],
    ['_INBOX.abc.def', '_INBOX.abc.def'],
    ['kaa.v1..broken', 'kaa.v1..broken'],
  ])('%s → %s', (reply, expected) => {
    expect(responseSubject(reply, 'command-result')).toBe(expected);
  });
});

describe('checkCipRequest', () => {
  const base = { correlationId: 'c', timestamp: 0, timeout: 0, endpointId: 'e-1', commandType: 'reboot', commandId: 1, payload: null };
  it('accepts the largest id, the longest names and a null payload as JSON null', () => {
    expect(checkCipRequest({ ...base, commandId: 2_147_483_647, endpointId: 'e'.repeat(128), commandType: 't'.repeat(128) }, 1024)).toEqual(
      { ok: true, payload: null },
    );
  });
  it('parses a JSON payload and refuses one over the limit with 413', () => {
    expect(checkCipRequest({ ...base, payload: Buffer.from('[1,{"a":"b"}]') }, 1024)).toEqual({ ok: true, payload: [1, { a: 'b' }] });
    expect(checkCipRequest({ ...base, payload: Buffer.alloc(2000, 0x20) }, 1024)).toMatchObject({ ok: false, statusCode: 413 });
  });
  it('refuses JSON nested deeper than the limit', () => {
    expect(checkCipRequest({ ...base, payload: Buffer.from('['.repeat(100) + ']'.repeat(100)) }, 1024)).toMatchObject({
      ok: false,
      statusCode: 400,
    });
  });
});
