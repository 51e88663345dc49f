/**
 * Bytes → JSON for 11/CEP payloads, with the checks JSON.parse does not make:
 * strict UTF-8 (no silent U+FFFD) and a nesting limit, counted in one
 * non-recursive pass before parsing, so a hostile `[[[[…` can neither blow the
 * stack here nor in whatever walks the value later (zod, JSON.stringify, SQL).
 */
import { isUtf8 } from 'node:buffer';
import { PayloadError } from './errors.js';

/** Deepest array/object nesting accepted in a payload. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a UTF-8 JSON payload. Throws PayloadError `INVALID_UTF8`,
 * `INVALID_JSON` (including an empty payload) or `JSON_TOO_DEEP`.
 */
export function parseJsonPayload(bytes: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): unknown {
  if (!(bytes instanceof Uint8Array)) throw new PayloadError('INVALID_JSON', 'payload is not bytes');
  if (!isUtf8(bytes)) throw new PayloadError('INVALID_UTF8', 'payload is not valid UTF-8');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (text.trim() === '') throw new PayloadError('INVALID_JSON', 'payload is empty; expected JSON');
  if (exceedsDepth(text, maxDepth)) {
    throw new PayloadError('JSON_TOO_DEEP', `payload JSON is nested deeper than ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message names the offending token and position, which helps the device developer.
    const detail = err instanceof Error ? err.message : 'syntax error';
    throw new PayloadError('INVALID_JSON', `payload is not valid JSON: ${detail}`, { cause: err });
  }
}

/**
 * Whether the bracket depth of `text` (brackets inside strings ignored) goes
 * past `maxDepth`. Not a validator: on malformed text the answer means little
 * and JSON.parse rejects the text next. Returns at the first excess.
 */
function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Serialises a JSON value as payload bytes (UTF-8). */
export function encodeJsonPayload(value: unknown): Buffer {
  const text = JSON.stringify(value);
  // JSON.stringify(undefined) is undefined: an absent payload goes out as `null`.
  return Buffer.from(text === undefined ? 'null' : text, 'utf8');
}
