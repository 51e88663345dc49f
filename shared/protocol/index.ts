/**
 * The wire layer: Avro messages of 4/ESP, 12/CIP, 17/SCMP, 21/TLE, 9/ELCE and
 * 20/EFMP; 11/CEP JSON payloads and resource paths; 3/ISM subjects.
 */
export * from './avro.js';
export type { Codec } from './codec.js';
export { avroTypeFor } from './codec.js';
export * from './cep.js';
export * from './errors.js';
export { encodeJsonPayload, MAX_JSON_DEPTH, parseJsonPayload } from './json.js';
export type * from './messages.js';
export * from './resource-path.js';
export type { AvroField, AvroRecordSchema, AvroSchema } from './schemas.js';
export * as schemas from './schemas.js';
export * from './subjects.js';
