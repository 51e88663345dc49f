/**
 * One codec per message: an avsc type built from the project's schema with the
 * exact safe-long type, behind a strict decode (guard first, avsc second) and
 * an encode that reports schema violations as ProtocolEncodeError.
 */
import avro from 'avsc';
import { ProtocolDecodeError, ProtocolEncodeError } from './errors.js';
import { assertWellFormed, MalformedAvroError } from './guard.js';
import type { AvroRecordSchema } from './schemas.js';
import { createSafeLongType } from './varint.js';

/** Encoder/decoder pair of one Avro record message. */
export interface Codec<T> {
  /** The record name, e.g. `ClientData`. */
  readonly messageType: string;
  /** The underlying avsc type (for tests and diagnostics), built on first use. */
  readonly type: avro.Type;
  /** Avro binary encoding of `message`; throws ProtocolEncodeError if it does not fit the schema. */
  encode(message: T): Buffer;
  /** Strict decode; any malformed input throws ProtocolDecodeError and nothing else. */
  decode(bytes: Uint8Array): T;
}

/** Builds the avsc type of `schema`, with longs carried exactly over the safe-integer range. */
export function avroTypeFor(schema: AvroRecordSchema): avro.Type {
  // A fresh registry per type: avsc adds named records to it, and `long` must
  // resolve to our type, not avsc's lossy default.
  return avro.Type.forSchema(schema as unknown as avro.Schema, { registry: { long: createSafeLongType() } });
}

/**
 * Creates the codec of one record message; `T` must mirror the schema's
 * fields. The avsc type is built on first use, not at import: avsc generates
 * and compiles code per record type, and building all twelve of
 * shared/protocol/avro.ts took 13 to 21 ms of CPU in every unit's cold start,
 * though most units use one or two of them, or none.
 */
export function createCodec<T extends object>(schema: AvroRecordSchema): Codec<T> {
  let built: avro.Type | undefined;
  const typeOf = () => (built ??= avroTypeFor(schema));
  const messageType = schema.name;
  return {
    messageType,
    get type() {
      return typeOf();
    },
    encode(message: T): Buffer {
      const type = typeOf();
      try {
        return type.toBuffer(message);
      } catch (err) {
        throw new ProtocolEncodeError(messageType, err instanceof Error ? err.message : String(err), { cause: err });
      }
    },
    decode(bytes: Uint8Array): T {
      if (!(bytes instanceof Uint8Array)) {
        throw new ProtocolDecodeError(messageType, 'expected a byte buffer');
      }
      // NATS hands over Uint8Array; avsc needs a Buffer. This is a view, not a copy.
      const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      try {
        assertWellFormed(schema, buf);
        // Spread into a plain object: avsc returns instances of a generated record class.
        return { ...(typeOf().fromBuffer(buf) as T) };
      } catch (err) {
        if (err instanceof MalformedAvroError) throw new ProtocolDecodeError(messageType, err.message, { cause: err });
        // The guard should leave avsc nothing to reject; keep the contract if it does.
        const reason = err instanceof Error ? err.message : String(err);
        throw new ProtocolDecodeError(messageType, reason, { cause: err });
      }
    },
  };
}
