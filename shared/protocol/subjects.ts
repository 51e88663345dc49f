/**
 * 3/ISM NATS subjects. Every token is checked: an instance name with a dot
 * would silently address another service, and one with `*` or `>` would turn
 * a publish subject into a subscription wildcard. Wildcards appear only where
 * this module puts them, in the `…Subscription` helpers.
 */
import { SubjectError } from './errors.js';

// Printable ASCII without space (a narrowing of what NATS allows, enough for
// Kaa's instance names, replica ids and message types), and none of the
// separator '.' or the wildcards '*' and '>'.
const PRINTABLE = /^[\x21-\x7e]+$/;
const RESERVED = /[.*>]/;

/** Message types (last subject token) CEX uses, as 3/ISM spells them. */
export const MESSAGE_TYPES = {
  clientData: 'ClientData',
  extensionData: 'ExtensionData',
  commandRequest: 'command-request',
  commandResult: 'command-result',
  endpointListRequest: 'ep-list-by-filter-request',
  endpointListResponse: 'ep-list-by-filter-response',
} as const;

/** Throws SubjectError unless `token` can stand as one literal subject token. */
export function assertToken(token: string, what = 'subject token'): string {
  if (typeof token !== 'string' || !PRINTABLE.test(token) || RESERVED.test(token)) {
    throw new SubjectError(`invalid ${what} ${JSON.stringify(token)}: it must be printable ASCII without ".", "*", ">" or spaces`);
  }
  return token;
}

/** Targeted, instance-wide: `kaa.v1.service.{instance}.{protocol}.{messageType}`. */
export function serviceSubject(instance: string, protocol: string, messageType: string): string {
  return targeted('service', assertToken(instance, 'instance name'), protocol, messageType);
}

/** Targeted, replica-specific (session affinity): `kaa.v1.replica.{replicaId}.{protocol}.{messageType}`. */
export function replicaSubject(replicaId: string, protocol: string, messageType: string): string {
  return targeted('replica', assertToken(replicaId, 'replica id'), protocol, messageType);
}

function targeted(scope: 'service' | 'replica', target: string, protocol: string, messageType: string): string {
  return `kaa.v1.${scope}.${target}.${assertToken(protocol, 'protocol')}.${assertToken(messageType, 'message type')}`;
}

/** Broadcast event: `kaa.v1.events.{originator}.{entity}.{group}.{eventType}`. */
export function eventSubject(originator: string, entity: string, group: string, eventType: string): string {
  return [
    'kaa.v1.events',
    assertToken(originator, 'originator'),
    assertToken(entity, 'entity'),
    assertToken(group, 'event group'),
    assertToken(eventType, 'event type'),
  ].join('.');
}

/**
 * Where a response of another message type goes when the request named a
 * `replyTo` (3/ISM): the reply subject with its last token replaced.
 */
export function replaceLastToken(subject: string, messageType: string): string {
  const tokens = splitSubject(subject);
  tokens[tokens.length - 1] = assertToken(messageType, 'message type');
  return tokens.join('.');
}

/** The last token of a literal subject, e.g. the event type of a received event. */
export function lastToken(subject: string): string {
  return splitSubject(subject).at(-1)!;
}

/** Splits a literal subject (no wildcards, no empty tokens) into its tokens. */
function splitSubject(subject: string): string[] {
  if (typeof subject !== 'string' || subject === '') throw new SubjectError('subject is empty');
  const tokens = subject.split('.');
  for (const token of tokens) assertToken(token, `token of subject ${JSON.stringify(subject)}`);
  return tokens;
}

// ---- The subjects CEX itself uses (docs/nats-protocols.md). ----

/** 4/ESP ClientData to this CEX instance (subscribe in queue group `{cex}`). */
export const espClientDataSubject = (cex: string): string => serviceSubject(cex, 'esp', MESSAGE_TYPES.clientData);
/** 4/ESP ClientData to one replica: the replyTo CEX gives when it needs the answer back itself. */
export const espClientDataReplicaSubject = (replicaId: string): string => replicaSubject(replicaId, 'esp', MESSAGE_TYPES.clientData);
/** 4/ESP ExtensionData to the communication service (pushes, and answers without replyTo). */
export const espExtensionDataSubject = (kpc: string): string => serviceSubject(kpc, 'esp', MESSAGE_TYPES.extensionData);

/** 12/CIP command invocation requests to this CEX instance (queue group `{cex}`). */
export const cipCommandRequestSubject = (cex: string): string => serviceSubject(cex, 'cip', MESSAGE_TYPES.commandRequest);
/** 12/CIP recommended replyTo of a caller replica for results. */
export const cipCommandResultReplicaSubject = (callerReplicaId: string): string =>
  replicaSubject(callerReplicaId, 'cip', MESSAGE_TYPES.commandResult);

/** 9/ELCE connected events from any originator. */
export const elceConnectedSubscription = (): string => 'kaa.v1.events.*.endpoint.connectivity.connected';
/** 9/ELCE disconnected events from any originator. */
export const elceDisconnectedSubscription = (): string => 'kaa.v1.events.*.endpoint.connectivity.disconnected';

/** 17/SCMP broadcast configuration events (upsert/delete) from `{provider}`. */
export const scmpBroadcastSubscription = (provider: string): string =>
  `kaa.v1.events.${assertToken(provider, 'SCMP provider')}.service.configuration.*`;
/** 17/SCMP configuration events targeted at this CEX instance. */
export const scmpTargetedSubscription = (cex: string): string => `kaa.v1.service.${assertToken(cex, 'instance name')}.scmp.configuration.*`;

/** 21/TLE tenant lifecycle events (updated/unregistered) from any originator. */
export const tleSubscription = (): string => 'kaa.v1.events.*.tenant.lifecycle.*';

/** 20/EFMP endpoint-list request to the endpoint registry `{epr}`. */
export const efmpRequestSubject = (epr: string): string => serviceSubject(epr, 'efmp', MESSAGE_TYPES.endpointListRequest);
/** 20/EFMP replyTo of this replica for the registry's response. */
export const efmpReplySubject = (replicaId: string): string => replicaSubject(replicaId, 'efmp', MESSAGE_TYPES.endpointListResponse);
