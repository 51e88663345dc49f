/**
 * Test-only reference types of the Kaa messages, built with plain avsc from
 * the layouts restated in wire-contract.ts (in the repository: no test reads
 * files outside it), independently of the project's codecs.
 */
import avro from 'avsc';
import { codecs, schemas, type AvroRecordSchema, type Codec } from '../../shared/protocol/index.js';
import { schemaFromContract, WIRE_CONTRACT } from './wire-contract.js';

export type CodecName = keyof typeof codecs;

export const CODEC_NAMES = Object.keys(WIRE_CONTRACT) as CodecName[];

/** The project's own schema object behind each codec. */
export const OWN_SCHEMAS: Record<CodecName, AvroRecordSchema> = {
  clientData: schemas.CLIENT_DATA_SCHEMA,
  extensionData: schemas.EXTENSION_DATA_SCHEMA,
  commandInvocationRequest: schemas.COMMAND_INVOCATION_REQUEST_SCHEMA,
  commandInvocationResult: schemas.COMMAND_INVOCATION_RESULT_SCHEMA,
  broadcastConfigurationUpdate: schemas.BROADCAST_CONFIGURATION_UPDATE_SCHEMA,
  serviceSpecificConfigurationUpdate: schemas.SERVICE_SPECIFIC_CONFIGURATION_UPDATE_SCHEMA,
  tenantUpdated: schemas.TENANT_UPDATED_SCHEMA,
  tenantUnregistered: schemas.TENANT_UNREGISTERED_SCHEMA,
  endpointConnected: schemas.ENDPOINT_CONNECTED_SCHEMA,
  endpointDisconnected: schemas.ENDPOINT_DISCONNECTED_SCHEMA,
  endpointListByFilterRequest: schemas.ENDPOINT_LIST_BY_FILTER_REQUEST_SCHEMA,
  endpointListByFilterResponse: schemas.ENDPOINT_LIST_BY_FILTER_RESPONSE_SCHEMA,
};

/** A schema with every `doc` removed, for structural comparison. */
export function withoutDocs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDocs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'doc')
      .map(([key, v]) => [key, withoutDocs(v)]),
  );
}

/** The reference schema of a message (the JSON form avsc reads). */
export function referenceSchema(name: CodecName): avro.Schema {
  return schemaFromContract(WIRE_CONTRACT[name]) as avro.Schema;
}

/** Plain avsc, default long type: exact only within ±2^52 (see varint.ts). */
export function referenceType(name: CodecName): avro.Type {
  return avro.Type.forSchema(referenceSchema(name));
}

/**
 * avsc with a BigInt long written here independently of the project's (it
 * goes through avsc's 8-byte unpacking, the project's through raw varints),
 * for longs beyond what the default type handles.
 */
export function bigLongReferenceType(name: CodecName): avro.Type {
  const long = avro.types.LongType.__with({
    fromBuffer: (buf: Buffer) => Number(buf.readBigInt64LE()),
    toBuffer: (n: number) => {
      const buf = Buffer.alloc(8);
      buf.writeBigInt64LE(BigInt(n));
      return buf;
    },
    fromJSON: Number,
    toJSON: (n: number) => n,
    isValid: (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n),
    compare: (a: number, b: number) => Math.sign(a - b),
  });
  return avro.Type.forSchema(referenceSchema(name), { registry: { long } });
}

/** The project codec for a name, loosely typed for table-driven tests. */
export function codecOf(name: CodecName): Codec<Record<string, unknown>> {
  return codecs[name] as unknown as Codec<Record<string, unknown>>;
}

/** A zig-zag varint computed the slow, obvious way, for hand-built hostile bytes. */
export function zigzag(n: bigint | number): Buffer {
  const v = BigInt(n);
  let z = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  const out: number[] = [];
  do {
    const byte = Number(z & 0x7fn);
    z >>= 7n;
    out.push(z > 0n ? byte | 0x80 : byte);
  } while (z > 0n);
  return Buffer.from(out);
}

/** An Avro string/bytes value: length prefix plus body. */
export function avroString(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([zigzag(body.length), body]);
}
