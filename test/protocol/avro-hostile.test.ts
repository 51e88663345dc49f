import { describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol/index.js';
import { avroString, CODEC_NAMES, codecOf, zigzag, type CodecName } from './reference.js';
import { SAMPLES } from './samples.js';

/** Runs `fn` and returns what it threw, failing if it did not throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function expectDecodeError(name: CodecName, bytes: Uint8Array, reason?: RegExp): P.ProtocolDecodeError {
  const err = thrown(() => codecOf(name).decode(bytes));
  expect(err).toBeInstanceOf(P.ProtocolDecodeError);
  const decodeError = err as P.ProtocolDecodeError;
  expect(decodeError.name).toBe('ProtocolDecodeError');
  expect(decodeError.code).toBe('INVALID_AVRO');
  expect(decodeError.status).toBe(400);
  if (reason) expect(decodeError.message).toMatch(reason);
  return decodeError;
}

const envelope = (timeout = true): Buffer => Buffer.concat([avroString('corr'), zigzag(1000), ...(timeout ? [zigzag(0)] : [])]);

describe.each(CODEC_NAMES)('%s on hostile input', (name) => {
  const valid = codecOf(name).encode(SAMPLES[name][0]!);

  it('rejects every truncation of a valid message', () => {
    for (let len = 0; len < valid.length; len++) expectDecodeError(name, valid.subarray(0, len));
  });

  it('rejects trailing bytes', () => {
    expectDecodeError(name, Buffer.concat([valid, Buffer.from([0])]), /trailing/);
  });

  it('rejects non-byte input', () => {
    for (const input of [undefined, null, 'text', 42, {}, [1, 2]]) {
      expectDecodeError(name, input as unknown as Uint8Array, /expected a byte buffer/);
    }
  });

  it('rejects a huge, negative or over-long first length prefix', () => {
    expectDecodeError(name, Buffer.concat([zigzag(2 ** 40), valid]), /exceeds/);
    expectDecodeError(name, Buffer.concat([zigzag(Number.MAX_SAFE_INTEGER), valid]), /exceeds/);
    expectDecodeError(name, Buffer.concat([zigzag(-1), valid]), /negative length/);
    expectDecodeError(name, Buffer.concat([Buffer.alloc(11, 0xff), Buffer.from([1])]), /longer than 10 bytes/);
    expectDecodeError(name, Buffer.concat([zigzag(2n ** 62n), valid]), /safe integer/);
  });

  it('rejects invalid UTF-8 in a string', () => {
    expectDecodeError(name, Buffer.concat([avroString(Buffer.from([0xc3, 0x28])), valid.subarray(5)]), /UTF-8/);
  });

  it('rejects a timestamp beyond the safe-integer range', () => {
    const head = avroString('corr');
    expectDecodeError(name, Buffer.concat([head, zigzag(2n ** 53n), valid.subarray(head.length + 1)]), /safe integer/);
    expectDecodeError(name, Buffer.concat([head, zigzag(-(2n ** 63n)), valid.subarray(head.length + 1)]), /safe integer/);
    expectDecodeError(name, Buffer.concat([head, Buffer.alloc(9, 0xff), Buffer.from([0x7f])]), /64 bits/);
  });
});

describe('unions', () => {
  // ClientData up to endpointId: correlationId, timestamp, timeout, appVersionName.
  const head = Buffer.concat([envelope(), avroString('app-v1')]);
  const tail = Buffer.concat([avroString('/command'), zigzag(1), Buffer.from([0]), zigzag(0)]);

  it.each([2, -1, 1_000_000, 2 ** 31])('rejects branch index %i', (index) => {
    expectDecodeError('clientData', Buffer.concat([head, zigzag(index), tail]), /union index/);
  });

  it('accepts the valid branches (string, then null)', () => {
    expect(P.decodeClientData(Buffer.concat([head, zigzag(0), avroString('ep'), tail])).endpointId).toBe('ep');
    expect(P.decodeClientData(Buffer.concat([head, zigzag(1), tail])).endpointId).toBeNull();
  });

  it('rejects an int field whose varint is outside 32 bits', () => {
    const bytes = Buffer.concat([head, zigzag(1), avroString('/command'), zigzag(0), zigzag(2 ** 31), Buffer.from([0]), zigzag(0)]);
    expectDecodeError('clientData', bytes, /int 2147483648 out of range/);
  });
});

describe('maps and arrays', () => {
  const connected = (body: Buffer): Buffer => Buffer.concat([envelope(), body, avroString('kpc-0')]);

  // The guard's own message (not a RangeError from an array of 2^40 slots,
  // nor a hang) shows the count was refused before any item was read.
  it('rejects a block count far beyond the bytes left, before reading or allocating any item', () => {
    for (const count of [2 ** 24, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expectDecodeError('endpointConnected', connected(zigzag(count)), /block of \d+ item/);
      expectDecodeError('endpointConnected', connected(zigzag(-count)), /block/);
    }
  });

  it('accepts negative-count blocks with a matching byte size, refuses a mismatched one', () => {
    const entry = Buffer.concat([avroString('ep-1'), avroString('v1')]);
    const ok = connected(Buffer.concat([zigzag(-1), zigzag(entry.length), entry, zigzag(0)]));
    expect(P.decodeEndpointConnectedEvent(ok).endpoints).toEqual({ 'ep-1': 'v1' });
    const bad = connected(Buffer.concat([zigzag(-1), zigzag(entry.length - 1), entry, zigzag(0)]));
    expectDecodeError('endpointConnected', bad, /block size/);
  });

  it('accepts several blocks', () => {
    const block = (k: string, v: string) => Buffer.concat([zigzag(1), avroString(k), avroString(v)]);
    const bytes = connected(Buffer.concat([block('a', '1'), block('b', '2'), zigzag(0)]));
    expect(P.decodeEndpointConnectedEvent(bytes).endpoints).toEqual({ a: '1', b: '2' });
  });

  it('rejects the map key "__proto__" (it would replace the object prototype)', () => {
    const bytes = Buffer.concat([
      envelope(),
      avroString('filter'),
      zigzag(1),
      avroString('__proto__'),
      zigzag(1),
      avroString('polluted'),
      zigzag(0),
      zigzag(0),
      zigzag(200),
      zigzag(1),
    ]);
    expectDecodeError('endpointListByFilterResponse', bytes, /__proto__/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects a huge nested array count inside a map value', () => {
    const bytes = Buffer.concat([
      envelope(),
      avroString('filter'),
      zigzag(1),
      avroString('v1'),
      zigzag(2 ** 40),
      zigzag(0),
      zigzag(200),
      zigzag(1),
    ]);
    expectDecodeError('endpointListByFilterResponse', bytes, /block/);
  });
});

describe('bytes and strings', () => {
  it('rejects a payload length pointing past the end without allocating it', () => {
    const bytes = Buffer.concat([envelope(), avroString('e'), avroString('t'), zigzag(1), zigzag(1), zigzag(2 ** 50)]);
    expectDecodeError('commandInvocationRequest', bytes, /length 1125899906842624 exceeds/);
  });

  it('keeps the decode error cause for diagnostics', () => {
    const err = expectDecodeError('tenantUpdated', Buffer.from([0x01]));
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.messageType).toBe('UpdatedEvent');
  });
});
