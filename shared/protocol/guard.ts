/**
 * Structural check of Avro bytes before avsc decodes them.
 *
 * avsc trusts the wire: a map or array block count is looped over without
 * comparing it to the bytes left (a 5-byte count of 2^40 spins and allocates
 * until the process dies), `int` fields accept any varint, map keys are
 * assigned to a plain object (so `__proto__` swaps the object's prototype) and
 * invalid UTF-8 silently becomes U+FFFD. This walk over the schema rejects all
 * of that in one linear pass, bounded by the buffer length, without
 * allocating. Bytes that pass are safe to hand to avsc.
 */
import { isUtf8 } from 'node:buffer';
import type { AvroSchema } from './schemas.js';
import { readVarint, VarintError } from './varint.js';

/** Why the bytes were refused; converted to ProtocolDecodeError by the codec. */
export class MalformedAvroError extends Error {
  override readonly name = 'MalformedAvroError';
}

const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;
const PROTO_KEY = Buffer.from('__proto__', 'latin1');

/** Throws MalformedAvroError unless `buf` is exactly one valid encoding of `schema`. */
export function assertWellFormed(schema: AvroSchema, buf: Uint8Array): void {
  const end = walk(schema, buf, 0, '');
  if (end !== buf.length) throw new MalformedAvroError(`${buf.length - end} trailing byte(s)`);
}

function varint(buf: Uint8Array, pos: number, path: string): { value: number; end: number } {
  try {
    return readVarint(buf, pos);
  } catch (err) {
    if (err instanceof VarintError) throw new MalformedAvroError(`${path || 'value'}: ${err.message}`);
    throw err;
  }
}

/** Reads a string/bytes length prefix and checks the body fits in the buffer. */
function lengthPrefixed(buf: Uint8Array, pos: number, path: string): { start: number; end: number } {
  const { value: length, end: start } = varint(buf, pos, path);
  if (length < 0) throw new MalformedAvroError(`${path}: negative length ${length}`);
  if (length > buf.length - start) {
    throw new MalformedAvroError(`${path}: length ${length} exceeds the ${buf.length - start} byte(s) left`);
  }
  return { start, end: start + length };
}

function walk(schema: AvroSchema, buf: Uint8Array, pos: number, path: string): number {
  if (Array.isArray(schema)) {
    const { value: index, end } = varint(buf, pos, path);
    const branch = schema[index];
    if (!Number.isInteger(index) || index < 0 || branch === undefined) {
      throw new MalformedAvroError(`${path}: union index ${index} out of range`);
    }
    return walk(branch, buf, end, path);
  }
  if (typeof schema === 'string') {
    switch (schema) {
      case 'null':
        return pos;
      case 'long':
        return varint(buf, pos, path).end;
      case 'int': {
        const { value, end } = varint(buf, pos, path);
        if (value < INT_MIN || value > INT_MAX) throw new MalformedAvroError(`${path}: int ${value} out of range`);
        return end;
      }
      case 'bytes':
        return lengthPrefixed(buf, pos, path).end;
      case 'string': {
        const { start, end } = lengthPrefixed(buf, pos, path);
        if (!isUtf8(buf.subarray(start, end))) throw new MalformedAvroError(`${path}: string is not valid UTF-8`);
        return end;
      }
    }
  }
  switch (schema.type) {
    case 'record': {
      let at = pos;
      for (const field of schema.fields) at = walk(field.type, buf, at, path ? `${path}.${field.name}` : field.name);
      return at;
    }
    case 'array':
      return blocks(buf, pos, path, minSize(schema.items), (at, i) => walk(schema.items, buf, at, `${path}[${i}]`));
    case 'map':
      return blocks(buf, pos, path, 1 + minSize(schema.values), (at, i) => {
        const key = lengthPrefixed(buf, at, `${path}{${i}}`);
        const keyBytes = buf.subarray(key.start, key.end);
        if (!isUtf8(keyBytes)) throw new MalformedAvroError(`${path}: map key is not valid UTF-8`);
        if (keyBytes.length === PROTO_KEY.length && PROTO_KEY.equals(keyBytes)) {
          throw new MalformedAvroError(`${path}: map key "__proto__" is not accepted`);
        }
        return walk(schema.values, buf, key.end, `${path}{${i}}`);
      });
  }
}

/**
 * Walks the blocks of an array or map. Each block's count is checked against
 * the bytes left (every item needs at least `itemMin` bytes), so the number of
 * iterations can never exceed the buffer length.
 */
function blocks(buf: Uint8Array, pos: number, path: string, itemMin: number, item: (at: number, index: number) => number): number {
  let at = pos;
  let index = 0;
  for (;;) {
    const head = varint(buf, at, path);
    at = head.end;
    let count = head.value;
    if (count === 0) return at;
    let declaredEnd: number | null = null;
    if (count < 0) {
      // A negative count is followed by the block's size in bytes (Avro spec).
      count = -count;
      const size = lengthPrefixed(buf, at, `${path} block size`);
      at = size.start;
      declaredEnd = size.end;
    }
    if (count * Math.max(itemMin, 1) > buf.length - at) {
      throw new MalformedAvroError(`${path}: block of ${count} item(s) exceeds the ${buf.length - at} byte(s) left`);
    }
    for (let i = 0; i < count; i++) at = item(at, index++);
    if (declaredEnd !== null && at !== declaredEnd) {
      throw new MalformedAvroError(`${path}: block size does not match its items`);
    }
  }
}

/**
 * The fewest bytes a value of `schema` can take (0 only for null). `blocks`
 * counts at least 1 per item anyway, which only matters for arrays of nulls,
 * a shape no Kaa message uses.
 */
function minSize(schema: AvroSchema): number {
  if (Array.isArray(schema)) return 1;
  if (typeof schema === 'string') return schema === 'null' ? 0 : 1;
  if (schema.type === 'record') return schema.fields.reduce((sum, f) => sum + minSize(f.type), 0);
  return 1;
}
