/**
 * The Avro schemas of every NATS message CEX sends or receives, written from
 * Kaa's RFCs (docs/nats-protocols.md). Binary Avro has no field names or tags on the wire, so record
 * names, namespaces, field order, union branch order and defaults below are
 * the contract: change one and peers decode garbage. Tests compare the bytes
 * against the published Kaa schemas to keep them honest.
 */

/** The subset of Avro this project's messages use; also walked by the decode guard. */
export type AvroSchema =
  | 'null'
  | 'int'
  | 'long'
  | 'string'
  | 'bytes'
  | AvroSchema[]
  | { type: 'map'; values: AvroSchema }
  | { type: 'array'; items: AvroSchema }
  | AvroRecordSchema;

export interface AvroField {
  name: string;
  type: AvroSchema;
  default?: null | number;
}

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace: string;
  fields: AvroField[];
}

// The envelope fields every targeted message starts with (3/ISM).
const correlationId: AvroField = { name: 'correlationId', type: 'string' };
const timestamp: AvroField = { name: 'timestamp', type: 'long' };
const timeout: AvroField = { name: 'timeout', type: 'long', default: 0 };

const str = (name: string): AvroField => ({ name, type: 'string' });
const int = (name: string): AvroField => ({ name, type: 'int' });
/** `["null", T]` with default null: the "optional" form. */
const nullFirst = (name: string, type: 'string' | 'bytes'): AvroField => ({ name, type: ['null', type], default: null });
/** `[T, "null"]` without a default: nullable but required (ESP uses this form). */
const nullLast = (name: string, type: 'string' | 'int' | 'bytes'): AvroField => ({ name, type: [type, 'null'] });

function record(namespace: string, name: string, fields: AvroField[]): AvroRecordSchema {
  return { type: 'record', name, namespace, fields };
}

const ESP = 'org.kaaproject.ipc.esp.gen.v1';
const CIP = 'org.kaaproject.ipc.cip.gen.v1';
const SCMP = 'org.kaaproject.scmp.event.gen.v1.service.configuration';
const TLE = 'org.kaaproject.ipc.event.gen.v1.tenant.lifecycle';
const ELCE = 'org.kaaproject.ipc.event.gen.v1.endpoint.connectivity';
const EFMP = 'org.kaaproject.ipc.efmp.gen.v1';

/** 4/ESP: endpoint data relayed by the communication service to CEX. */
export const CLIENT_DATA_SCHEMA = record(ESP, 'ClientData', [
  correlationId,
  timestamp,
  timeout,
  str('appVersionName'),
  nullLast('endpointId', 'string'),
  str('resourcePath'),
  nullLast('requestId', 'int'),
  { name: 'payload', type: 'bytes' },
  nullFirst('configName', 'string'),
]);

/** 4/ESP: CEX's answer or push to an endpoint, via the communication service. */
export const EXTENSION_DATA_SCHEMA = record(ESP, 'ExtensionData', [
  correlationId,
  timestamp,
  timeout,
  nullLast('appVersionName', 'string'),
  nullLast('extensionInstanceName', 'string'),
  nullLast('endpointId', 'string'),
  str('resourcePath'),
  nullLast('requestId', 'int'),
  nullLast('payload', 'bytes'),
  int('statusCode'),
  nullFirst('reasonPhrase', 'string'),
]);

/** 12/CIP: a caller asks CEX to run a command. */
export const COMMAND_INVOCATION_REQUEST_SCHEMA = record(CIP, 'CommandInvocationRequest', [
  correlationId,
  timestamp,
  timeout,
  str('endpointId'),
  str('commandType'),
  int('commandId'),
  nullFirst('payload', 'bytes'),
]);

/** 12/CIP: CEX reports the command's outcome to the caller's replyTo. */
export const COMMAND_INVOCATION_RESULT_SCHEMA = record(CIP, 'CommandInvocationResult', [
  correlationId,
  timestamp,
  timeout,
  str('appVersionName'),
  str('endpointId'),
  str('commandType'),
  int('commandId'),
  int('statusCode'),
  nullFirst('reasonPhrase', 'string'),
  nullFirst('payload', 'bytes'),
]);

/** 17/SCMP: platform-wide configuration change (no timeout field in this message). */
export const BROADCAST_CONFIGURATION_UPDATE_SCHEMA = record(SCMP, 'BroadcastConfigurationUpdateEvent', [
  correlationId,
  timestamp,
  str('originatorReplicaId'),
  nullFirst('tenantID', 'string'),
  nullFirst('appName', 'string'),
  nullFirst('appVerName', 'string'),
]);

/** 17/SCMP: configuration change addressed to this service instance. */
export const SERVICE_SPECIFIC_CONFIGURATION_UPDATE_SCHEMA = record(SCMP, 'ServiceSpecificConfigurationUpdateEvent', [
  correlationId,
  timestamp,
  str('tenantID'),
  nullFirst('appName', 'string'),
  nullFirst('appVerName', 'string'),
]);

const tenantLifecycle = (name: string): AvroRecordSchema =>
  record(TLE, name, [correlationId, timestamp, timeout, str('tenantId'), str('originatorReplicaId')]);

/** 21/TLE: a tenant's metadata (issuer, status) changed. */
export const TENANT_UPDATED_SCHEMA = tenantLifecycle('UpdatedEvent');
/** 21/TLE: a tenant left the platform. */
export const TENANT_UNREGISTERED_SCHEMA = tenantLifecycle('UnregisteredEvent');

const connectivity = (name: string): AvroRecordSchema =>
  record(ELCE, name, [
    correlationId,
    timestamp,
    timeout,
    { name: 'endpoints', type: { type: 'map', values: 'string' } },
    str('originatorReplicaId'),
  ]);

/** 9/ELCE: endpoints came online (endpointId → appVersionName). */
export const ENDPOINT_CONNECTED_SCHEMA = connectivity('ConnectedEvent');
/** 9/ELCE: endpoints went offline. */
export const ENDPOINT_DISCONNECTED_SCHEMA = connectivity('DisconnectedEvent');

/** 20/EFMP: ask the endpoint registry which endpoints match a filter. */
export const ENDPOINT_LIST_BY_FILTER_REQUEST_SCHEMA = record(EFMP, 'EndpointListByFilterRequest', [
  correlationId,
  timestamp,
  timeout,
  str('filterId'),
]);

/** 20/EFMP: the registry's answer, endpoints grouped by app version. */
export const ENDPOINT_LIST_BY_FILTER_RESPONSE_SCHEMA = record(EFMP, 'EndpointListByFilterResponse', [
  correlationId,
  timestamp,
  timeout,
  str('filterId'),
  { name: 'appVersionsToEndpoints', type: { type: 'map', values: { type: 'array', items: 'string' } } },
  int('statusCode'),
  nullFirst('reasonPhrase', 'string'),
]);
