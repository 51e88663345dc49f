import {
  decodeBroadcastConfigurationUpdateEvent,
  decodeClientData,
  decodeCommandInvocationRequest,
  decodeEndpointConnectedEvent,
  decodeEndpointDisconnectedEvent,
  decodeServiceSpecificConfigurationUpdateEvent,
  decodeTenantUnregisteredEvent,
  decodeTenantUpdatedEvent,
  isExpired,
  type Envelope,
} from '../protocol/index.js';
import { EVENT_TYPES, type EventType } from '../bridge/contract.js';

// 17/SCMP events carry no timeout: they never expire.
const noTimeout =
  <T extends { correlationId: string; timestamp: number }>(decode: (b: Uint8Array) => T) =>
  (b: Uint8Array): Envelope => ({ ...decode(b), timeout: 0 });

const DECODERS: Record<EventType, (bytes: Uint8Array) => Envelope> = {
  [EVENT_TYPES.espClientData]: decodeClientData,
  [EVENT_TYPES.cipCommandRequest]: decodeCommandInvocationRequest,
  [EVENT_TYPES.elceConnected]: decodeEndpointConnectedEvent,
  [EVENT_TYPES.elceDisconnected]: decodeEndpointDisconnectedEvent,
  [EVENT_TYPES.scmpBroadcast]: noTimeout(decodeBroadcastConfigurationUpdateEvent),
  [EVENT_TYPES.scmpTargeted]: noTimeout(decodeServiceSpecificConfigurationUpdateEvent),
  [EVENT_TYPES.tleUpdated]: decodeTenantUpdatedEvent,
  [EVENT_TYPES.tleUnregistered]: decodeTenantUnregisteredEvent,
};

/** The verdict on one inbound message before it is forwarded. */
export type Screened =
  | { ok: true; envelope: Envelope }
  | { ok: false; reason: 'undecodable'; detail: string }
  | { ok: false; reason: 'expired'; envelope: Envelope };

/**
 * Decodes a message just far enough to know it is well-formed and not
 * expired (3/ISM: timestamp + timeout past, timeout > 0). The bridge drops
 * what fails here: the function would only refuse it too, and this saves a
 * round trip per piece of garbage. The strict codecs throw on any malformed
 * input, so nothing that arrives can crash the bridge.
 */
export function screenMessage(type: EventType, data: Uint8Array, nowMs: number): Screened {
  let envelope: Envelope;
  try {
    envelope = DECODERS[type](data);
  } catch (err) {
    return { ok: false, reason: 'undecodable', detail: err instanceof Error ? err.message : String(err) };
  }
  if (isExpired(envelope, nowMs)) return { ok: false, reason: 'expired', envelope };
  return { ok: true, envelope };
}
