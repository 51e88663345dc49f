import type { IncomingHttpHeaders } from 'node:http';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { ValidationError } from '../errors/index.js';

const REQUIRED = ['id', 'source', 'type', 'specversion'] as const;

/**
 * Parses a CloudEvent from an HTTP request, in binary mode (ce-* headers, the
 * body is the data) or structured mode (application/cloudevents+json, the
 * body already parsed as JSON). The host's one dispatch calls it once per
 * event, for every unit that takes events (shared/host/server.ts), so a bad
 * event answers 400 problem+json and the bridge drops it.
 */
export function parseHttpCloudEvent(headers: IncomingHttpHeaders, body: unknown): CloudEvent<unknown> {
  const contentType = String(headers['content-type'] ?? '');
  let event: Record<string, unknown>;
  if (contentType.startsWith('application/cloudevents+json')) {
    if (!body || typeof body !== 'object' || Buffer.isBuffer(body)) {
      throw new ValidationError('INVALID_CLOUDEVENT', 'structured CloudEvent body must be a JSON object');
    }
    event = { ...(body as Record<string, unknown>) };
    if (typeof event.data_base64 === 'string') event.data = Buffer.from(event.data_base64, 'base64');
  } else {
    event = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith('ce-') && typeof value === 'string') event[name.slice(3)] = value;
    }
    if (contentType) event.datacontenttype = contentType;
    event.data = body;
  }
  for (const attr of REQUIRED) {
    if (typeof event[attr] !== 'string' || event[attr] === '') {
      throw new ValidationError('INVALID_CLOUDEVENT', `CloudEvent attribute "${attr}" is missing`);
    }
  }
  if (event.specversion !== '1.0') throw new ValidationError('INVALID_CLOUDEVENT', 'CloudEvents specversion must be 1.0');
  return event as unknown as CloudEvent<unknown>;
}
