import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol/index.js';
import { bigLongReferenceType, CODEC_NAMES, codecOf, OWN_SCHEMAS } from './reference.js';

const RUNS = 300;

/** Values of any Avro schema used by the messages; keys avoid `__proto__`, which decode refuses. */
function arbitraryFor(schema: P.AvroSchema): fc.Arbitrary<unknown> {
  if (Array.isArray(schema)) return fc.oneof(...schema.map(arbitraryFor));
  if (typeof schema === 'string') {
    switch (schema) {
      case 'null':
        return fc.constant(null);
      case 'int':
        return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
      case 'long':
        return fc.oneof(fc.maxSafeInteger(), fc.integer(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER));
      case 'string':
        return fc.string({ unit: 'grapheme', maxLength: 20 });
      case 'bytes':
        return fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
    }
  }
  switch (schema.type) {
    case 'record':
      return fc.record(Object.fromEntries(schema.fields.map((f) => [f.name, arbitraryFor(f.type)])));
    case 'array':
      return fc.array(arbitraryFor(schema.items), { maxLength: 8 });
    case 'map':
      return fc.dictionary(
        fc.string({ unit: 'grapheme', maxLength: 12 }).filter((k) => k !== '__proto__'),
        arbitraryFor(schema.values),
        { maxKeys: 8, noNullPrototype: true },
      );
  }
}

/** Only the documented error class may escape a decoder. */
function decodeOrDocumentedError(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(P.ProtocolDecodeError);
    return undefined;
  }
}

describe.each(CODEC_NAMES)('%s (property-based)', (name) => {
  const codec = codecOf(name);
  const message = arbitraryFor(OWN_SCHEMAS[name]) as fc.Arbitrary<Record<string, unknown>>;
  const reference = bigLongReferenceType(name);

  it('round-trips arbitrary valid messages, byte-identical to avsc', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const bytes = codec.encode(msg);
        expect(bytes.equals(reference.toBuffer(msg))).toBe(true);
        expect(codec.decode(bytes)).toEqual(msg);
      }),
      { numRuns: RUNS },
    );
  });

  it('throws only ProtocolDecodeError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        decodeOrDocumentedError(codec.decode, bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('throws only ProtocolDecodeError on mutated valid messages; what decodes re-encodes stably', () => {
    const mutated = fc.tuple(message, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete'));
    fc.assert(
      fc.property(mutated, ([msg, at, byte, op]) => {
        const bytes = Buffer.from(codec.encode(msg));
        const i = at % (bytes.length + 1);
        const changed =
          op === 'set'
            ? Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i + 1)])
            : op === 'insert'
              ? Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)])
              : Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
        const decoded = decodeOrDocumentedError(codec.decode, changed);
        if (decoded !== undefined) {
          const again = codec.encode(decoded as Record<string, unknown>);
          expect(codec.decode(again)).toEqual(decoded);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

const PAYLOAD_ERROR_CODES = new Set(['INVALID_UTF8', 'INVALID_JSON', 'JSON_TOO_DEEP', 'INVALID_COMMAND_REQUEST', 'INVALID_RESULT_REQUEST']);

/** Only PayloadError, with a code from its documented set and a non-empty reason, may escape. */
function parseOrPayloadError(parse: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    parse(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(P.PayloadError);
    expect(PAYLOAD_ERROR_CODES.has((err as P.PayloadError).code)).toBe(true);
    expect((err as P.PayloadError).message.length).toBeGreaterThan(0);
  }
}

describe('11/CEP validators (property-based)', () => {
  const parsers = {
    parseJsonPayload: P.parseJsonPayload,
    parseCommandRequest: P.parseCommandRequest,
    parseResultRequest: P.parseResultRequest,
  };

  it.each(Object.entries(parsers))('%s throws only PayloadError on arbitrary bytes and JSON', (_name, parse) => {
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.json({ maxDepth: 6 }).map((s) => Buffer.from(s)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))),
      fc.string({ unit: 'binary', maxLength: 50 }).map((s) => Buffer.from(s)),
    );
    fc.assert(
      fc.property(inputs, (bytes) => parseOrPayloadError(parse, bytes)),
      { numRuns: RUNS * 2 },
    );
  });

  it('accepts every well-formed result list and normalises it', () => {
    const result = fc.record(
      {
        id: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        statusCode: fc.integer({ min: 100, max: 599 }),
        reasonPhrase: fc.string({ maxLength: 1024 }),
        payload: fc.jsonValue({ maxDepth: 4 }),
      },
      { requiredKeys: ['id', 'statusCode'] },
    );
    fc.assert(
      fc.property(fc.array(result, { minLength: 1, maxLength: 20 }), (results) => {
        // Round-trip through JSON first: -0 becomes 0, as it would on the wire.
        const wire = JSON.parse(JSON.stringify(results)) as Record<string, unknown>[];
        const parsed = P.parseResultRequest(Buffer.from(JSON.stringify(results)));
        expect(parsed).toEqual(wire.map((r) => ({ reasonPhrase: null, payload: null, ...r })));
      }),
      { numRuns: RUNS },
    );
  });

  it('parseResourcePath throws only PayloadError on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `/command/${s}`),
          fc.string().map((s) => `/result/${s}`),
        ),
        (path) => {
          try {
            const parsed = P.parseResourcePath(path);
            expect(['command', 'result']).toContain(parsed.kind);
          } catch (err) {
            expect(err).toBeInstanceOf(P.PayloadError);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
