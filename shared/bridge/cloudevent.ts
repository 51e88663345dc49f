import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import { CLOUDEVENT_PATH } from '../host/units.js';
import { AVRO_CONTENT_TYPE, EVENT_TARGETS, EXTENSIONS, type EventType } from './contract.js';

/** What the bridge knows of a NATS message it forwards. */
export interface NatsEvent {
  type: EventType;
  subject: string;
  reply: string | undefined;
  data: Uint8Array;
}

/**
 * The HTTP headers of a binary-mode CloudEvent (contract.ts): ce-* attributes,
 * the NATS subject, reply subject and this replica as extensions, and the
 * Avro bytes as the body. `id` stays the same across retries of one message,
 * so a function could tell a retry from a new message.
 */
export function cloudEventHeaders(event: NatsEvent, id: string, replicaId: string, now = new Date()): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': AVRO_CONTENT_TYPE,
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': `nats://${event.subject}`,
    'ce-type': event.type,
    'ce-time': now.toISOString(),
    [`ce-${EXTENSIONS.subject}`]: event.subject,
    [`ce-${EXTENSIONS.replica}`]: replicaId,
  };
  if (event.reply) headers[`ce-${EXTENSIONS.reply}`] = event.reply;
  return headers;
}

/** A fresh CloudEvent id. */
export const newEventId = (): string => randomUUID();

/**
 * Where an event type is POSTed: command-submit is an HTTP unit that takes
 * CloudEvents on its /cloudevents path; the CloudEvent units take them at
 * their root.
 */
export function functionUrl(config: Config, type: EventType): string {
  const trim = (url: string) => url.replace(/\/+$/, '');
  switch (EVENT_TARGETS[type]) {
    case 'command-submit':
      return `${trim(config.functionUrls.commandSubmit)}${CLOUDEVENT_PATH}`;
    case 'esp-inbound':
      return config.functionUrls.espInbound;
    case 'scmp-config-reload':
      return config.functionUrls.scmpConfigReload;
  }
}
