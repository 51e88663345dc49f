import { describe, expect, it } from 'vitest';
import {
  completeAt,
  decodeEndpointCursor,
  decodeVersion,
  encodeEndpointCursor,
  eventCursors,
  INITIAL_CURSOR,
} from '../../shared/streams/index.js';

describe('live status event ids', () => {
  it('round-trips endpoint cursors and refuses anything this API did not make', () => {
    const cursor = { base: '100:105:101,103', current: '104:110:', lastType: 'reboot', lastId: 7 };
    expect(decodeEndpointCursor(encodeEndpointCursor(cursor))).toEqual(cursor);
    expect(decodeEndpointCursor(encodeEndpointCursor({ ...INITIAL_CURSOR, current: '5:5:' }))).toEqual({
      ...INITIAL_CURSOR,
      current: '5:5:',
    });
    const forged = (v: unknown) => `e1.${Buffer.from(JSON.stringify(v)).toString('base64url')}`;
    for (const bad of [
      '7',
      'e2.x',
      'e1.%%%',
      forged(['*', null, null, null]),
      forged(['1:2:', '1:2:', 'a.b', 1]),
      forged(['1:2:', '1:2:', 'a', 0]),
      forged(['1:2:', '1:2:', 'a', null]),
      forged(["1:2:'; DROP", '1:2:', null, null]),
      forged(['1:2:', '1:2:']),
      'e1.' + 'A'.repeat(70_000),
    ])
      expect(decodeEndpointCursor(bad), bad.slice(0, 40)).toBeUndefined();
  });

  it('gives continued rows the old snapshots, fresh rows the new one, and the last event the complete cursor', () => {
    const cursor = { base: '10:12:11', current: '12:14:', lastType: 'a', lastId: 1 };
    const ids = eventCursors(cursor, '20:20:', [
      { part: 'continued', commandType: 'b', commandId: 1 },
      { part: 'fresh', commandType: 'a', commandId: 5 },
      { part: 'fresh', commandType: 'c', commandId: 2 },
    ]);
    expect(ids).toEqual([
      { base: '10:12:11', current: '12:14:', lastType: 'b', lastId: 1 },
      { base: '12:14:', current: '20:20:', lastType: 'a', lastId: 5 },
      completeAt('20:20:'),
    ]);
    // The first read of a stream: its PENDING commands count as one set under '*'.
    expect(
      eventCursors(INITIAL_CURSOR, '7:9:8', [
        { part: 'fresh', commandType: 'x', commandId: 1 },
        { part: 'fresh', commandType: 'y', commandId: 1 },
      ])[0],
    ).toEqual({ base: '*', current: '7:9:8', lastType: 'x', lastId: 1 });
  });

  it('reads a single command stream id as its version', () => {
    expect([undefined, '', '0', '2', '2147483647'].map(decodeVersion)).toEqual([0, 0, 0, 2, 2_147_483_647]);
    expect(['-1', '1.5', 'x', '2147483648', '99999999999'].map(decodeVersion)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
