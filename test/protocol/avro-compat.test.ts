import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol/index.js';
import {
  bigLongReferenceType,
  CODEC_NAMES,
  codecOf,
  OWN_SCHEMAS,
  referenceSchema,
  referenceType,
  zigzag,
  withoutDocs,
  type CodecName,
} from './reference.js';
import { SAMPLES } from './samples.js';

describe.each(CODEC_NAMES)('%s matches the published Kaa schema', (name: CodecName) => {
  const codec = codecOf(name);
  const reference = referenceType(name);

  it('has the same record name and namespace', () => {
    const schema = referenceSchema(name) as { name: string; namespace: string; fields: { name: string }[] };
    expect(codec.messageType).toBe(schema.name);
    expect((codec.type as unknown as { name: string }).name).toBe(`${schema.namespace}.${schema.name}`);
  });

  it('declares the same names, namespace, field order, types, unions and defaults (docs aside)', () => {
    expect(OWN_SCHEMAS[name]).toEqual(withoutDocs(referenceSchema(name)));
    expect(codec.type.schema()).toEqual(reference.schema());
  });

  it('has the same canonical-form fingerprint as the reference', () => {
    // Schema fingerprints ignore docs and defaults; equal fingerprints mean
    // identical names, field order, types and union branch order.
    const ownCanonical = avro.Type.forSchema(codec.type.schema() as avro.Schema)
      .fingerprint()
      .toString('hex');
    expect(ownCanonical).toBe(reference.fingerprint().toString('hex'));
  });

  it.each(SAMPLES[name].map((sample, i) => [i, sample] as const))('sample %i encodes byte-identically and decodes back', (_i, sample) => {
    const ours = codec.encode(sample);
    const theirs = reference.toBuffer(sample);
    expect(ours.equals(theirs)).toBe(true);
    expect(codec.decode(theirs)).toEqual(sample);
    expect({ ...reference.fromBuffer(ours) }).toEqual(sample);
  });

  it('has every sample varied enough (nulls and non-nulls in each union)', () => {
    const schema = referenceSchema(name) as { fields: { name: string; type: unknown }[] };
    for (const field of schema.fields.filter((f) => Array.isArray(f.type))) {
      const values = SAMPLES[name].map((s) => s[field.name]);
      expect(values, field.name).toContain(null);
      expect(
        values.some((v) => v !== null),
        field.name,
      ).toBe(true);
    }
  });

  it('carries longs exactly up to ±Number.MAX_SAFE_INTEGER', () => {
    const bigRef = bigLongReferenceType(name);
    for (const timestamp of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -(2 ** 52) - 1, 2 ** 53 - 2]) {
      const sample = { ...SAMPLES[name][0], timestamp };
      const ours = codec.encode(sample);
      expect(ours.equals(bigRef.toBuffer(sample))).toBe(true);
      expect(codec.decode(ours)).toEqual(sample);
      expect(ours.includes(zigzag(timestamp))).toBe(true);
    }
  });

  it('refuses to encode unsafe longs, out-of-range ints and missing fields', () => {
    const sample = SAMPLES[name][0]!;
    expect(() => codec.encode({ ...sample, timestamp: 2 ** 53 })).toThrow(P.ProtocolEncodeError);
    expect(() => codec.encode({ ...sample, timestamp: 1.5 })).toThrow(P.ProtocolEncodeError);
    expect(() => codec.encode({ ...sample, correlationId: undefined })).toThrow(P.ProtocolEncodeError);
    expect(() => codec.encode({ ...sample, correlationId: 7 })).toThrow(P.ProtocolEncodeError);
  });
});

describe('defaults', () => {
  it('writes the schema default for an omitted timeout, configName or reasonPhrase', () => {
    const full = SAMPLES.clientData[0]!;
    const { timeout: _t, configName: _c, ...partial } = full;
    const bytes = P.codecs.clientData.encode(partial as unknown as P.ClientData);
    expect(P.decodeClientData(bytes)).toEqual({ ...full, timeout: 0, configName: null });
  });

  it('decodes into plain objects', () => {
    const msg = P.decodeTenantUpdatedEvent(P.encodeTenantUpdatedEvent(SAMPLES.tenantUpdated[0] as unknown as P.TenantUpdatedEvent));
    expect(Object.getPrototypeOf(msg)).toBe(Object.prototype);
  });

  it('decodes a Uint8Array that is not a Buffer (as NATS delivers it)', () => {
    const bytes = P.encodeEndpointConnectedEvent(SAMPLES.endpointConnected[2] as unknown as P.EndpointConnectedEvent);
    const copy = new Uint8Array(bytes.length + 4).subarray(2, bytes.length + 2);
    copy.set(bytes);
    expect(P.decodeEndpointConnectedEvent(copy)).toEqual(SAMPLES.endpointConnected[2]);
  });
});

describe('isExpired', () => {
  it.each([
    [{ timestamp: 1000, timeout: 0 }, 10 ** 12, false],
    [{ timestamp: 1000, timeout: 100 }, 1099, false],
    [{ timestamp: 1000, timeout: 100 }, 1100, false],
    [{ timestamp: 1000, timeout: 100 }, 1101, true],
    [{ timestamp: 1000, timeout: -5 }, 10 ** 12, false],
  ])('%o at %i → %s', (msg, now, expired) => {
    expect(P.isExpired(msg, now)).toBe(expired);
  });
});
