/**
 * The contract between the nats-bridge and the functions it feeds.
 *
 * The bridge POSTs each NATS message to its function as a CloudEvent in
 * binary mode: the Avro bytes are the body (`content-type:
 * application/avro`), and the NATS subject and reply subject travel as the
 * extension attributes below. The function answers 204 (nothing to send) or
 * 200 with a JSON `FunctionAnswer`: the messages the bridge must publish on
 * its behalf (functions never speak NATS themselves). A 4xx answer means the
 * event itself is bad (logged and dropped); 5xx/timeouts are retried a few
 * times by the bridge, then dropped and logged (core NATS is at-most-once;
 * what must not be lost goes through the outbox instead).
 */

/** CloudEvent `type` per kind of NATS message the bridge forwards. */
export const EVENT_TYPES = {
  espClientData: 'org.kaaproject.esp.v1.ClientData',
  cipCommandRequest: 'org.kaaproject.cip.v1.CommandInvocationRequest',
  elceConnected: 'org.kaaproject.elce.v1.EndpointConnected',
  elceDisconnected: 'org.kaaproject.elce.v1.EndpointDisconnected',
  scmpBroadcast: 'org.kaaproject.scmp.v1.BroadcastConfigurationUpdate',
  scmpTargeted: 'org.kaaproject.scmp.v1.ServiceSpecificConfigurationUpdate',
  tleUpdated: 'org.kaaproject.tle.v1.TenantUpdated',
  tleUnregistered: 'org.kaaproject.tle.v1.TenantUnregistered',
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** Extension attribute names (CloudEvents: lower-case alphanumerics only). */
export const EXTENSIONS = {
  /** The NATS subject the message arrived on. */
  subject: 'natssubject',
  /** The NATS reply subject of the message, when it had one. */
  reply: 'natsreply',
  /** The bridge replica that forwarded it (its replica subjects reach it). */
  replica: 'cexreplica',
} as const;

export const AVRO_CONTENT_TYPE = 'application/avro';

/** One message the function asks the bridge to publish. */
export interface PublishRequest {
  subject: string;
  /** The message bytes, base64. */
  data: string;
}

/** The 200 body of a function called by the bridge. */
export interface FunctionAnswer {
  publish: PublishRequest[];
}

/** Which unit handles which event type (the bridge's routing table). */
export const EVENT_TARGETS: Record<EventType, 'esp-inbound' | 'command-submit' | 'scmp-config-reload'> = {
  [EVENT_TYPES.espClientData]: 'esp-inbound',
  [EVENT_TYPES.elceConnected]: 'esp-inbound',
  [EVENT_TYPES.elceDisconnected]: 'esp-inbound',
  [EVENT_TYPES.cipCommandRequest]: 'command-submit',
  [EVENT_TYPES.scmpBroadcast]: 'scmp-config-reload',
  [EVENT_TYPES.scmpTargeted]: 'scmp-config-reload',
  [EVENT_TYPES.tleUpdated]: 'scmp-config-reload',
  [EVENT_TYPES.tleUnregistered]: 'scmp-config-reload',
};

/** The messages of a FunctionAnswer value (parsed JSON, or what an in-process unit returned), or undefined when it is not one. */
export function publishListOf(value: unknown): PublishRequest[] | undefined {
  if (!value || typeof value !== 'object' || !Array.isArray((value as { publish?: unknown }).publish)) return undefined;
  const publish = (value as { publish: unknown[] }).publish;
  const valid = publish.every(
    (p) =>
      !!p &&
      typeof p === 'object' &&
      typeof (p as PublishRequest).subject === 'string' &&
      (p as PublishRequest).subject !== '' &&
      typeof (p as PublishRequest).data === 'string',
  );
  return valid ? (publish as PublishRequest[]) : undefined;
}

/** Builds a FunctionAnswer from (subject, bytes) pairs. */
export function answer(messages: { subject: string; data: Uint8Array }[]): FunctionAnswer {
  return { publish: messages.map((m) => ({ subject: m.subject, data: Buffer.from(m.data).toString('base64') })) };
}

/**
 * The bridge's one internal HTTP endpoint (not in the public API, not behind
 * the ingress): NATS request/reply on behalf of a function, which has no
 * NATS connection of its own. POST a NatsRequestBody; the bridge publishes
 * with its own replica subject as replyTo (3/ISM) and answers 200 with a
 * NatsReplyBody once the matching reply (same correlationId) arrives; 504
 * NATS_REQUEST_TIMEOUT when none came within timeoutMs; 503 NATS_UNAVAILABLE
 * when NATS is down; 403 SUBJECT_NOT_ALLOWED for a subject it does not
 * request on behalf of functions (only 20/EFMP's today).
 */
export const NATS_REQUEST_PATH = '/nats/request';

export interface NatsRequestBody {
  subject: string;
  /** The request bytes, base64. */
  data: string;
  timeoutMs: number;
}

export interface NatsReplyBody {
  /** The subject the reply arrived on. */
  subject: string;
  /** The reply bytes, base64. */
  data: string;
}
