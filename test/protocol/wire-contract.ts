/**
 * The Kaa message layouts CEX speaks, restated for the tests in a notation of
 * our own: one line per message, `record full name: field type [= default]; …`.
 * A type is `string`, `long`, `int`, `bytes`, `null`, a union `a|b` (branch
 * order matters on the wire), `map<T>` or `array<T>`.
 *
 * Written from the protocol documents (4/ESP, 9/ELCE, 12/CIP, 17/SCMP,
 * 20/EFMP, 21/TLE), independently of shared/protocol/schemas.ts, so the
 * tests compare the project's codecs with a second source that lives in the
 * repository: a test never reads files outside it.
 */
export const WIRE_CONTRACT = {
  clientData:
    'org.kaaproject.ipc.esp.gen.v1.ClientData: correlationId string; timestamp long; timeout long = 0; appVersionName string; ' +
    'endpointId string|null; resourcePath string; requestId int|null; payload bytes; configName null|string = null',
  extensionData:
    'org.kaaproject.ipc.esp.gen.v1.ExtensionData: correlationId string; timestamp long; timeout long = 0; appVersionName string|null; ' +
    'extensionInstanceName string|null; endpointId string|null; resourcePath string; requestId int|null; payload bytes|null; ' +
    'statusCode int; reasonPhrase null|string = null',
  commandInvocationRequest:
    'org.kaaproject.ipc.cip.gen.v1.CommandInvocationRequest: correlationId string; timestamp long; timeout long = 0; endpointId string; ' +
    'commandType string; commandId int; payload null|bytes = null',
  commandInvocationResult:
    'org.kaaproject.ipc.cip.gen.v1.CommandInvocationResult: correlationId string; timestamp long; timeout long = 0; appVersionName string; ' +
    'endpointId string; commandType string; commandId int; statusCode int; reasonPhrase null|string = null; payload null|bytes = null',
  broadcastConfigurationUpdate:
    'org.kaaproject.scmp.event.gen.v1.service.configuration.BroadcastConfigurationUpdateEvent: correlationId string; timestamp long; ' +
    'originatorReplicaId string; tenantID null|string = null; appName null|string = null; appVerName null|string = null',
  serviceSpecificConfigurationUpdate:
    'org.kaaproject.scmp.event.gen.v1.service.configuration.ServiceSpecificConfigurationUpdateEvent: correlationId string; timestamp long; ' +
    'tenantID string; appName null|string = null; appVerName null|string = null',
  tenantUpdated:
    'org.kaaproject.ipc.event.gen.v1.tenant.lifecycle.UpdatedEvent: correlationId string; timestamp long; timeout long = 0; ' +
    'tenantId string; originatorReplicaId string',
  tenantUnregistered:
    'org.kaaproject.ipc.event.gen.v1.tenant.lifecycle.UnregisteredEvent: correlationId string; timestamp long; timeout long = 0; ' +
    'tenantId string; originatorReplicaId string',
  endpointConnected:
    'org.kaaproject.ipc.event.gen.v1.endpoint.connectivity.ConnectedEvent: correlationId string; timestamp long; timeout long = 0; ' +
    'endpoints map<string>; originatorReplicaId string',
  endpointDisconnected:
    'org.kaaproject.ipc.event.gen.v1.endpoint.connectivity.DisconnectedEvent: correlationId string; timestamp long; timeout long = 0; ' +
    'endpoints map<string>; originatorReplicaId string',
  endpointListByFilterRequest:
    'org.kaaproject.ipc.efmp.gen.v1.EndpointListByFilterRequest: correlationId string; timestamp long; timeout long = 0; filterId string',
  endpointListByFilterResponse:
    'org.kaaproject.ipc.efmp.gen.v1.EndpointListByFilterResponse: correlationId string; timestamp long; timeout long = 0; filterId string; ' +
    'appVersionsToEndpoints map<array<string>>; statusCode int; reasonPhrase null|string = null',
} as const;

type AvroType = string | AvroType[] | { type: 'map'; values: AvroType } | { type: 'array'; items: AvroType };

/** One line of WIRE_CONTRACT as an Avro record schema (the JSON form avsc reads). */
export function schemaFromContract(line: string): {
  namespace: string;
  name: string;
  type: 'record';
  fields: { name: string; type: AvroType; default?: unknown }[];
} {
  const colon = line.indexOf(':');
  const fullName = line.slice(0, colon).trim();
  const dot = fullName.lastIndexOf('.');
  const fields = line
    .slice(colon + 1)
    .split(';')
    .map((part) => {
      const m = /^\s*(\w+)\s+(\S+)(?:\s*=\s*(.+?))?\s*$/.exec(part);
      if (!m) throw new Error(`wire contract: cannot read field "${part}"`);
      const field: { name: string; type: AvroType; default?: unknown } = { name: m[1]!, type: typeOf(m[2]!) };
      if (m[3] !== undefined) field.default = JSON.parse(m[3]);
      return field;
    });
  return { namespace: fullName.slice(0, dot), name: fullName.slice(dot + 1), type: 'record', fields };
}

function typeOf(text: string): AvroType {
  if (text.includes('|') && !text.includes('<')) return text.split('|').map(typeOf);
  const container = /^(map|array)<(.+)>$/.exec(text);
  if (container)
    return container[1] === 'map' ? { type: 'map', values: typeOf(container[2]!) } : { type: 'array', items: typeOf(container[2]!) };
  if (!['string', 'long', 'int', 'bytes', 'null', 'boolean'].includes(text)) throw new Error(`wire contract: unknown type ${text}`);
  return text;
}
