import type { CloudEvent } from '@google-cloud/functions-framework';
import { EXTENSIONS } from '../bridge/contract.js';
import { ValidationError } from '../errors/index.js';
import { replaceLastToken } from '../protocol/index.js';

/**
 * The Avro bytes a bridge event carries. Binary mode (what the bridge sends)
 * gives the body as a Buffer; structured mode (application/cloudevents+json)
 * carries binary data as `data_base64` (the host decodes it into `data`; it
 * is read here too, so the function does not depend on that). Throws
 * ValidationError (400: a bad event, dropped by the bridge) without bytes.
 */
export function eventBytes(event: CloudEvent<unknown>): Buffer {
  const data = event.data;
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const base64 = (event as { data_base64?: unknown }).data_base64;
  if (typeof base64 === 'string') return Buffer.from(base64, 'base64');
  throw new ValidationError('INVALID_CLOUDEVENT', 'the CloudEvent carries no binary data');
}

/** A string extension attribute of the event, or undefined when absent or empty. */
export function eventExtension(event: CloudEvent<unknown>, name: string): string | undefined {
  const value = (event as unknown as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** What to log about an event that cannot be answered. */
export function eventSummary(event: CloudEvent<unknown>): Record<string, unknown> {
  return {
    eventId: event.id,
    eventType: event.type,
    natsSubject: eventExtension(event, EXTENSIONS.subject),
    natsReply: eventExtension(event, EXTENSIONS.reply),
  };
}

/**
 * Where the response to a request goes, given the request's NATS reply
 * subject (3/ISM): that subject, with its last token replaced by the
 * response's message type when it names another one. Only Kaa subjects
 * (`kaa.v1.…`) follow that convention; any other reply subject (a plain NATS
 * `_INBOX.…` of a request/reply caller) is used as given, since rewriting it
 * would send the answer nowhere.
 */
export function responseSubject(replyTo: string | undefined, messageType: string): string | undefined {
  if (replyTo === undefined) return undefined;
  if (!replyTo.startsWith('kaa.v1.')) return replyTo;
  try {
    return replaceLastToken(replyTo, messageType);
  } catch {
    // A malformed Kaa-looking subject: answer where the caller asked.
    return replyTo;
  }
}

/** The response subject named by the event's `natsreply` extension, if any. */
export function eventResponseSubject(event: CloudEvent<unknown>, messageType: string): string | undefined {
  return responseSubject(eventExtension(event, EXTENSIONS.reply), messageType);
}
