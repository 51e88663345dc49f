import type { IncomingMessage } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { CexError, ValidationError } from '../errors/index.js';
import { PayloadTooLargeError } from '../http/index.js';
import { parseJsonPayload } from '../protocol/json.js';
import type { JsonValue } from '../domain/index.js';

/** 415 for a body whose media type the route does not take. */
export class UnsupportedMediaTypeError extends CexError {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor(contentType: string) {
    super('UNSUPPORTED_MEDIA_TYPE', `content type "${contentType}" is not supported; send application/json or text/plain`);
  }
}

/** The media type without parameters, lower-cased; '' when absent. */
export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

function charsetOf(req: IncomingMessage): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(String(req.headers['content-type'] ?? ''));
  return m?.[1]?.toLowerCase();
}

/**
 * The command payload of an invoke (docs/rest-api.md, Invoke): application/json (any
 * JSON value, strict UTF-8, nesting capped), text/plain (the text becomes a
 * JSON string), an empty body is `null`; anything else 415; past
 * CEX_MAX_PAYLOAD_BYTES 413.
 */
export function parseCommandPayload(req: IncomingMessage, body: Buffer, maxBytes: number): JsonValue {
  if (body.length > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (body.length === 0) return null;
  const type = mediaType(req);
  const charset = charsetOf(req);
  if (charset && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
    throw new CexError('UNSUPPORTED_CHARSET', `charset "${charset}" is not supported; send UTF-8`);
  }
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    try {
      return parseJsonPayload(body) as JsonValue;
    } catch (err) {
      throw new ValidationError('INVALID_JSON', (err as Error).message, { cause: err });
    }
  }
  if (type === 'text/plain') {
    if (!isUtf8(body)) throw new ValidationError('INVALID_UTF8', 'the text body is not valid UTF-8');
    return body.toString('utf8');
  }
  throw new UnsupportedMediaTypeError(type || '(none)');
}
