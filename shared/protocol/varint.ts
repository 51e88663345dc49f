/**
 * Avro zig-zag varints, exact over the JavaScript safe-integer range.
 *
 * Why not avsc's own long: its default type refuses ±(2^53 - 1) (its bound is
 * 2^53 - 2), and its float-based reader returns wrong values, even with the
 * wrong sign, for negative longs below -2^52. Here the wire bytes are decoded
 * with BigInt above 49 bits, and anything outside Number.MAX_SAFE_INTEGER is
 * refused instead of being rounded.
 */
import avro from 'avsc';

/** A varint that is truncated, over-long, or outside the safe-integer range. */
export class VarintError extends Error {
  override readonly name = 'VarintError';
}

/** Longest encoding of a 64-bit zig-zag value. */
const MAX_VARINT_BYTES = 10;

/** Reads one zig-zag varint at `pos`; returns the value and the position after it. */
export function readVarint(buf: Uint8Array, pos: number): { value: number; end: number } {
  let end = pos;
  let byte: number;
  do {
    if (end >= buf.length) throw new VarintError('truncated varint');
    if (end - pos >= MAX_VARINT_BYTES) throw new VarintError('varint longer than 10 bytes');
    byte = buf[end++]!;
  } while (byte & 0x80);
  const length = end - pos;

  let zigzag: number;
  if (length <= 7) {
    // 7 groups of 7 bits = 49 bits: plain float arithmetic stays exact.
    zigzag = 0;
    for (let i = length - 1; i >= 0; i--) zigzag = zigzag * 128 + (buf[pos + i]! & 0x7f);
    const value = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    return { value, end };
  }
  let big = 0n;
  for (let i = length - 1; i >= 0; i--) big = (big << 7n) | BigInt(buf[pos + i]! & 0x7f);
  if (big >> 64n !== 0n) throw new VarintError('varint exceeds 64 bits');
  const value = big & 1n ? -((big + 1n) >> 1n) : big >> 1n;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new VarintError(`long ${value} is outside the safe integer range`);
  }
  return { value: Number(value), end };
}

/** Encodes a safe integer as a zig-zag varint. */
export function writeVarint(value: number): Buffer {
  if (!Number.isSafeInteger(value)) throw new VarintError(`${value} is not a safe integer`);
  let zigzag = value >= 0 ? BigInt(value) << 1n : (-BigInt(value) << 1n) - 1n;
  const out: number[] = [];
  while (zigzag > 0x7fn) {
    out.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  out.push(Number(zigzag));
  return Buffer.from(out);
}

/**
 * An avsc `long` type that carries JavaScript numbers over the full safe range.
 * Registered under the name `long` when the message types are built, so every
 * long field (timestamp, timeout) uses it. `noUnpack` hands us the raw varint.
 */
export function createSafeLongType(): avro.Type {
  return avro.types.LongType.__with(
    {
      fromBuffer: (buf: Buffer): number => readVarint(buf, 0).value,
      toBuffer: (value: number): Buffer => writeVarint(value),
      fromJSON: (json: unknown): number => {
        if (typeof json === 'number' && Number.isSafeInteger(json)) return json;
        throw new VarintError(`invalid long ${String(json)}`);
      },
      toJSON: (value: number): number => value,
      isValid: (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value),
      compare: (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0),
    },
    true,
  );
}
