import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { CexError } from '../errors/index.js';

/**
 * CORS for the origins of CEX_CORS_ALLOWED_ORIGINS (none by default, so a
 * browser page on another origin cannot call the API unless configured).
 * Callers authenticate with a bearer token, never cookies, so credentials
 * are not allowed and `*` is safe to offer.
 */

// Request headers a browser client sends beyond the CORS-safelisted ones.
const ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, Last-Event-ID';
// Response headers a browser client needs to read (CEX-API.md §2, invoke).
const EXPOSE_HEADERS = 'Location, X-Command-Id, X-Command-Status-Code, X-Command-Reason-Phrase, Retry-After';
// Browsers cap it anyway (Chromium 2 h, Firefox 24 h); 10 min lets a config change reach them soon.
const MAX_AGE_SECONDS = '600';

function originOf(req: IncomingMessage): string | undefined {
  const raw = req.headers.origin;
  return typeof raw === 'string' && raw.length > 0 ? raw : undefined;
}

function allowed(config: Config, origin: string): boolean {
  const list = config.corsAllowedOrigins;
  return list.includes('*') || list.includes(origin.toLowerCase());
}

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && originOf(req) !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/**
 * Sets the CORS headers of an actual (non-preflight) answer when its origin
 * is allowed; they survive the handler's own writeHead.
 */
export function applyCors(config: Config, req: IncomingMessage, res: ServerResponse): void {
  if (config.corsAllowedOrigins.length === 0) return;
  res.setHeader('vary', 'Origin');
  const origin = originOf(req);
  if (!origin || !allowed(config, origin)) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
}

/**
 * Answers a preflight for a path served with `methods`: 204 with what a
 * browser may send, or 403 naming the origin when it is not allowed.
 */
export function answerPreflight(config: Config, req: IncomingMessage, res: ServerResponse, methods: string): void {
  const origin = originOf(req)!;
  if (!allowed(config, origin)) {
    const none = config.corsAllowedOrigins.length === 0 ? ' (it lists none, so CORS is off)' : '';
    throw new CexError('CORS_ORIGIN_NOT_ALLOWED', `origin ${origin.slice(0, 200)} is not listed in CEX_CORS_ALLOWED_ORIGINS${none}`);
  }
  res.writeHead(204, {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': methods,
    'access-control-allow-headers': ALLOW_HEADERS,
    'access-control-max-age': MAX_AGE_SECONDS,
    vary: 'Origin',
  });
  res.end();
}
