/**
 * The NATS corpus (esp.jsonl, cip.jsonl, events.jsonl): each line is either
 * raw bytes (`hex`) or a message of a known type whose fields override a
 * valid default, with its payload given like a REST body (BodySpec).
 */
import { randomUUID } from 'node:crypto';
import * as P from '../../shared/protocol/index.js';
import { bodyOf, type BodySpec } from './raw-http.js';

export type EventKind = 'scmpBroadcast' | 'scmpTargeted' | 'tleUpdated' | 'tleUnregistered' | 'elceConnected' | 'elceDisconnected';

/** What a NATS input must lead to. */
export type NatsExpect =
  | { answer: number } // an ExtensionData / CommandInvocationResult with this statusCode
  | { drop: 'undecodable' | 'expired' | 'unknown_type' } // the bridge drops and logs it
  | { forwarded: true }; // decodes, reaches its function, which answers nothing

export interface NatsInput extends BodySpec {
  id: string;
  note: string;
  /** esp and cip: the message type is the file's; events: which one. */
  type?: EventKind;
  hex?: string;
  /** Field overrides; `timestamp: "expired"` means a minute ago with a 1 s timeout. */
  fields?: Record<string, unknown>;
  /** Payload null (CIP) instead of the body. */
  nullPayload?: boolean;
  /** Subject with {cex}, {kpc}, {provider} placeholders; default per type. */
  subject?: string;
  /** Publish without a NATS reply subject. */
  noReply?: boolean;
  expect: NatsExpect;
}

export interface Names {
  cex: string;
  kpc: string;
  provider: string;
}

export const CORPUS_ENDPOINT = 'corpus-ep';
export const CORPUS_APP_VERSION = 'corpus-v1';

/** A fresh envelope with the line's field overrides applied. */
function withFields(fields: Record<string, unknown> = {}): Record<string, unknown> & { correlationId: string } {
  const expired = fields.timestamp === 'expired';
  return {
    correlationId: randomUUID(),
    timeout: expired ? 1_000 : 0,
    ...fields,
    timestamp: expired ? Date.now() - 60_000 : typeof fields.timestamp === 'number' ? fields.timestamp : Date.now(),
  };
}

const payloadOf = (input: NatsInput): Buffer | null => (input.nullPayload ? null : bodyOf(input));

/** The bytes of an esp.jsonl line (ClientData), with the requestId used. */
export function clientDataBytes(input: NatsInput, requestId: number): Buffer {
  if (input.hex !== undefined) return Buffer.from(input.hex, 'hex');
  const defaults = {
    appVersionName: CORPUS_APP_VERSION,
    endpointId: CORPUS_ENDPOINT,
    resourcePath: '/command/reboot',
    requestId,
    configName: null,
  };
  return P.encodeClientData({
    ...defaults,
    payload: payloadOf(input) ?? Buffer.alloc(0),
    ...withFields(input.fields),
  } as unknown as P.ClientData);
}

/** The bytes of a cip.jsonl line (CommandInvocationRequest). */
export function cipRequestBytes(input: NatsInput): { bytes: Buffer; correlationId: string } {
  if (input.hex !== undefined) return { bytes: Buffer.from(input.hex, 'hex'), correlationId: '' };
  const defaults = { endpointId: CORPUS_ENDPOINT, commandType: 'reboot', commandId: 7 };
  const request = { ...defaults, payload: payloadOf(input), ...withFields(input.fields) } as unknown as P.CommandInvocationRequest;
  return { bytes: P.encodeCommandInvocationRequest(request), correlationId: request.correlationId };
}

/** The bytes of an events.jsonl line. */
export function eventBytes(input: NatsInput): Buffer {
  if (input.hex !== undefined) return Buffer.from(input.hex, 'hex');
  // SCMP events carry no timeout field (the encoder ignores extra fields).
  const f = withFields(input.fields);
  switch (input.type) {
    case 'scmpBroadcast':
      return P.encodeBroadcastConfigurationUpdateEvent({
        originatorReplicaId: 'corpus',
        tenantID: null,
        appName: null,
        appVerName: null,
        ...f,
      } as never);
    case 'scmpTargeted':
      return P.encodeServiceSpecificConfigurationUpdateEvent({ tenantID: 'kaa', appName: null, appVerName: null, ...f } as never);
    case 'tleUpdated':
    case 'tleUnregistered': {
      const encode = input.type === 'tleUpdated' ? P.encodeTenantUpdatedEvent : P.encodeTenantUnregisteredEvent;
      return encode({ tenantId: 'kaa', originatorReplicaId: 'corpus', ...f } as never);
    }
    case 'elceConnected':
    case 'elceDisconnected': {
      const encode = input.type === 'elceConnected' ? P.encodeEndpointConnectedEvent : P.encodeEndpointDisconnectedEvent;
      return encode({ endpoints: {}, originatorReplicaId: 'corpus', ...f } as never);
    }
    default:
      throw new Error(`${input.id}: events need a type`);
  }
}

/** Default subjects of events.jsonl lines, per type. */
export function eventSubject(input: NatsInput, names: Names): string {
  const subject =
    input.subject ??
    {
      scmpBroadcast: 'kaa.v1.events.{provider}.service.configuration.upsert',
      scmpTargeted: 'kaa.v1.service.{cex}.scmp.configuration.upsert',
      tleUpdated: 'kaa.v1.events.corpus.tenant.lifecycle.updated',
      tleUnregistered: 'kaa.v1.events.corpus.tenant.lifecycle.unregistered',
      elceConnected: 'kaa.v1.events.{kpc}.endpoint.connectivity.connected',
      elceDisconnected: 'kaa.v1.events.{kpc}.endpoint.connectivity.disconnected',
    }[input.type ?? 'scmpBroadcast'];
  return subject.replaceAll('{cex}', names.cex).replaceAll('{kpc}', names.kpc).replaceAll('{provider}', names.provider);
}
