import type { IncomingMessage } from 'node:http';
import type { CommandRef } from '../domain/index.js';

// A prefix set by the ingress (`/cex`): path characters only, so a client
// cannot inject another host or a header through it.
const SAFE_PREFIX = /^(\/[A-Za-z0-9._~-]+)+$/;

/** The ingress prefix from X-Forwarded-Prefix, when it is a plain path. */
export function forwardedPrefix(req: IncomingMessage): string {
  const raw = req.headers['x-forwarded-prefix'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().replace(/\/+$/, '') ?? '';
  return SAFE_PREFIX.test(value) ? value : '';
}

/** `Location` of a command: an absolute path, honouring X-Forwarded-Prefix (docs/rest-api.md). */
export function commandLocation(req: IncomingMessage, ref: CommandRef): string {
  return (
    `${forwardedPrefix(req)}/api/v1/endpoints/${encodeURIComponent(ref.endpointId)}` +
    `/commands/${encodeURIComponent(ref.commandType)}/${ref.commandId}`
  );
}
