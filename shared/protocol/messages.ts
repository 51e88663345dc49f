/**
 * TypeScript shapes of the Avro messages in schemas.ts, field for field.
 * Avro `long` is a number (exact up to Number.MAX_SAFE_INTEGER), `bytes` a
 * Buffer, and a union with null is `T | null`.
 */

/** Fields shared by targeted messages (3/ISM): `timeout` 0 means never expires. */
export interface Envelope {
  correlationId: string;
  /** Creation time, ms since the epoch. */
  timestamp: number;
  /** Ms after `timestamp` until the message expires; 0 = never. */
  timeout: number;
}

/** 4/ESP ClientData: an endpoint request relayed to CEX. */
export interface ClientData extends Envelope {
  appVersionName: string;
  endpointId: string | null;
  /** Extension-specific topic tail, e.g. `/command/reboot`. */
  resourcePath: string;
  requestId: number | null;
  /** 11/CEP JSON payload bytes. */
  payload: Buffer;
  configName: string | null;
}

/** 4/ESP ExtensionData: CEX's response or push to an endpoint. */
export interface ExtensionData extends Envelope {
  appVersionName: string | null;
  extensionInstanceName: string | null;
  endpointId: string | null;
  resourcePath: string;
  requestId: number | null;
  payload: Buffer | null;
  statusCode: number;
  reasonPhrase: string | null;
}

/** 12/CIP request; (endpointId, commandType, commandId) names one command. */
export interface CommandInvocationRequest extends Envelope {
  endpointId: string;
  commandType: string;
  commandId: number;
  /** JSON bytes of the command payload, or null. */
  payload: Buffer | null;
}

/** 12/CIP result, carrying the request's correlationId. */
export interface CommandInvocationResult extends Envelope {
  /** Empty string when the endpoint's app version is unknown. */
  appVersionName: string;
  endpointId: string;
  commandType: string;
  commandId: number;
  statusCode: number;
  reasonPhrase: string | null;
  payload: Buffer | null;
}

/** 17/SCMP broadcast; null fields widen the scope of the reload. */
export interface BroadcastConfigurationUpdateEvent {
  correlationId: string;
  timestamp: number;
  originatorReplicaId: string;
  tenantID: string | null;
  appName: string | null;
  appVerName: string | null;
}

/** 17/SCMP targeted update (tenant always set). */
export interface ServiceSpecificConfigurationUpdateEvent {
  correlationId: string;
  timestamp: number;
  tenantID: string;
  appName: string | null;
  appVerName: string | null;
}

/** 21/TLE updated/unregistered share one shape. */
export interface TenantLifecycleEvent extends Envelope {
  tenantId: string;
  originatorReplicaId: string;
}
/** 21/TLE: reload the tenant's security configuration. */
export type TenantUpdatedEvent = TenantLifecycleEvent;
/** 21/TLE: refuse the tenant's tokens from now on. */
export type TenantUnregisteredEvent = TenantLifecycleEvent;

/** 9/ELCE connected/disconnected share one shape. */
export interface EndpointConnectivityEvent extends Envelope {
  /** endpointId → appVersionName. */
  endpoints: Record<string, string>;
  originatorReplicaId: string;
}
export type EndpointConnectedEvent = EndpointConnectivityEvent;
export type EndpointDisconnectedEvent = EndpointConnectivityEvent;

/** 20/EFMP request to the endpoint registry. */
export interface EndpointListByFilterRequest extends Envelope {
  filterId: string;
}

/** 20/EFMP response: appVersionName → endpoint ids matching the filter. */
export interface EndpointListByFilterResponse extends Envelope {
  filterId: string;
  appVersionsToEndpoints: Record<string, string[]>;
  statusCode: number;
  reasonPhrase: string | null;
}
