/**
 * Public encode/decode functions, one pair per Kaa message CEX speaks.
 * Every `decodeX` throws ProtocolDecodeError (code INVALID_AVRO) and nothing
 * else on malformed bytes; every `encodeX` throws ProtocolEncodeError when the
 * message does not fit its schema.
 */
import { createCodec } from './codec.js';
import type {
  BroadcastConfigurationUpdateEvent,
  ClientData,
  CommandInvocationRequest,
  CommandInvocationResult,
  EndpointConnectedEvent,
  EndpointDisconnectedEvent,
  EndpointListByFilterRequest,
  EndpointListByFilterResponse,
  ExtensionData,
  ServiceSpecificConfigurationUpdateEvent,
  TenantUnregisteredEvent,
  TenantUpdatedEvent,
} from './messages.js';
import * as S from './schemas.js';

/** All codecs by message, for generic plumbing (logging, tests). */
export const codecs = {
  clientData: createCodec<ClientData>(S.CLIENT_DATA_SCHEMA),
  extensionData: createCodec<ExtensionData>(S.EXTENSION_DATA_SCHEMA),
  commandInvocationRequest: createCodec<CommandInvocationRequest>(S.COMMAND_INVOCATION_REQUEST_SCHEMA),
  commandInvocationResult: createCodec<CommandInvocationResult>(S.COMMAND_INVOCATION_RESULT_SCHEMA),
  broadcastConfigurationUpdate: createCodec<BroadcastConfigurationUpdateEvent>(S.BROADCAST_CONFIGURATION_UPDATE_SCHEMA),
  serviceSpecificConfigurationUpdate: createCodec<ServiceSpecificConfigurationUpdateEvent>(S.SERVICE_SPECIFIC_CONFIGURATION_UPDATE_SCHEMA),
  tenantUpdated: createCodec<TenantUpdatedEvent>(S.TENANT_UPDATED_SCHEMA),
  tenantUnregistered: createCodec<TenantUnregisteredEvent>(S.TENANT_UNREGISTERED_SCHEMA),
  endpointConnected: createCodec<EndpointConnectedEvent>(S.ENDPOINT_CONNECTED_SCHEMA),
  endpointDisconnected: createCodec<EndpointDisconnectedEvent>(S.ENDPOINT_DISCONNECTED_SCHEMA),
  endpointListByFilterRequest: createCodec<EndpointListByFilterRequest>(S.ENDPOINT_LIST_BY_FILTER_REQUEST_SCHEMA),
  endpointListByFilterResponse: createCodec<EndpointListByFilterResponse>(S.ENDPOINT_LIST_BY_FILTER_RESPONSE_SCHEMA),
} as const;

/** 4/ESP ClientData → bytes. */
export const encodeClientData = (m: ClientData): Buffer => codecs.clientData.encode(m);
/** bytes → 4/ESP ClientData. */
export const decodeClientData = (b: Uint8Array): ClientData => codecs.clientData.decode(b);

/** 4/ESP ExtensionData → bytes. */
export const encodeExtensionData = (m: ExtensionData): Buffer => codecs.extensionData.encode(m);
/** bytes → 4/ESP ExtensionData. */
export const decodeExtensionData = (b: Uint8Array): ExtensionData => codecs.extensionData.decode(b);

/** 12/CIP CommandInvocationRequest → bytes. */
export const encodeCommandInvocationRequest = (m: CommandInvocationRequest): Buffer => codecs.commandInvocationRequest.encode(m);
/** bytes → 12/CIP CommandInvocationRequest. */
export const decodeCommandInvocationRequest = (b: Uint8Array): CommandInvocationRequest => codecs.commandInvocationRequest.decode(b);

/** 12/CIP CommandInvocationResult → bytes. */
export const encodeCommandInvocationResult = (m: CommandInvocationResult): Buffer => codecs.commandInvocationResult.encode(m);
/** bytes → 12/CIP CommandInvocationResult. */
export const decodeCommandInvocationResult = (b: Uint8Array): CommandInvocationResult => codecs.commandInvocationResult.decode(b);

/** 17/SCMP BroadcastConfigurationUpdateEvent → bytes. */
export const encodeBroadcastConfigurationUpdateEvent = (m: BroadcastConfigurationUpdateEvent): Buffer =>
  codecs.broadcastConfigurationUpdate.encode(m);
/** bytes → 17/SCMP BroadcastConfigurationUpdateEvent. */
export const decodeBroadcastConfigurationUpdateEvent = (b: Uint8Array): BroadcastConfigurationUpdateEvent =>
  codecs.broadcastConfigurationUpdate.decode(b);

/** 17/SCMP ServiceSpecificConfigurationUpdateEvent → bytes. */
export const encodeServiceSpecificConfigurationUpdateEvent = (m: ServiceSpecificConfigurationUpdateEvent): Buffer =>
  codecs.serviceSpecificConfigurationUpdate.encode(m);
/** bytes → 17/SCMP ServiceSpecificConfigurationUpdateEvent. */
export const decodeServiceSpecificConfigurationUpdateEvent = (b: Uint8Array): ServiceSpecificConfigurationUpdateEvent =>
  codecs.serviceSpecificConfigurationUpdate.decode(b);

/** 21/TLE UpdatedEvent → bytes. */
export const encodeTenantUpdatedEvent = (m: TenantUpdatedEvent): Buffer => codecs.tenantUpdated.encode(m);
/** bytes → 21/TLE UpdatedEvent. */
export const decodeTenantUpdatedEvent = (b: Uint8Array): TenantUpdatedEvent => codecs.tenantUpdated.decode(b);

/** 21/TLE UnregisteredEvent → bytes. */
export const encodeTenantUnregisteredEvent = (m: TenantUnregisteredEvent): Buffer => codecs.tenantUnregistered.encode(m);
/** bytes → 21/TLE UnregisteredEvent. */
export const decodeTenantUnregisteredEvent = (b: Uint8Array): TenantUnregisteredEvent => codecs.tenantUnregistered.decode(b);

/** 9/ELCE ConnectedEvent → bytes. */
export const encodeEndpointConnectedEvent = (m: EndpointConnectedEvent): Buffer => codecs.endpointConnected.encode(m);
/** bytes → 9/ELCE ConnectedEvent. */
export const decodeEndpointConnectedEvent = (b: Uint8Array): EndpointConnectedEvent => codecs.endpointConnected.decode(b);

/** 9/ELCE DisconnectedEvent → bytes. */
export const encodeEndpointDisconnectedEvent = (m: EndpointDisconnectedEvent): Buffer => codecs.endpointDisconnected.encode(m);
/** bytes → 9/ELCE DisconnectedEvent. */
export const decodeEndpointDisconnectedEvent = (b: Uint8Array): EndpointDisconnectedEvent => codecs.endpointDisconnected.decode(b);

/** 20/EFMP EndpointListByFilterRequest → bytes. */
export const encodeEndpointListByFilterRequest = (m: EndpointListByFilterRequest): Buffer => codecs.endpointListByFilterRequest.encode(m);
/** bytes → 20/EFMP EndpointListByFilterRequest. */
export const decodeEndpointListByFilterRequest = (b: Uint8Array): EndpointListByFilterRequest =>
  codecs.endpointListByFilterRequest.decode(b);

/** 20/EFMP EndpointListByFilterResponse → bytes. */
export const encodeEndpointListByFilterResponse = (m: EndpointListByFilterResponse): Buffer =>
  codecs.endpointListByFilterResponse.encode(m);
/** bytes → 20/EFMP EndpointListByFilterResponse. */
export const decodeEndpointListByFilterResponse = (b: Uint8Array): EndpointListByFilterResponse =>
  codecs.endpointListByFilterResponse.decode(b);

/**
 * 3/ISM expiry: a message with `timeout > 0` expires `timeout` ms after its
 * `timestamp`; it counts as expired only once that instant is strictly past.
 */
export function isExpired(msg: { timestamp: number; timeout: number }, nowMs: number): boolean {
  return msg.timeout > 0 && msg.timestamp + msg.timeout < nowMs;
}
