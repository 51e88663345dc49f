import type { IncomingMessage, ServerResponse } from 'node:http';
import { CexError } from '../errors/index.js';
import { sendJson } from '../http/index.js';
import { forwardedPrefix } from '../rest/location.js';
import type { Runtime } from '../runtime/index.js';
import type { TenancyState } from '../tenancy/index.js';
import { consoleConfig, issuerOrigins, type ConsoleConfig } from './config.js';
import { loadConsoleFiles, type ConsoleFile } from './files.js';

export { consoleConfig, CONSOLE_SCOPES, type ConsoleConfig } from './config.js';
export { consoleDir, loadConsoleFiles } from './files.js';

/** Where the console lives on the host (behind the ingress: {X-Forwarded-Prefix}/console). */
export const CONSOLE_PREFIX = '/console';

let files: Promise<Map<string, ConsoleFile> | undefined> | undefined;

/**
 * Serves the operator console: /console/config.json, the built files, and
 * index.html for every other path below /console (the console's own router
 * reads deep links such as /console/endpoints/{endpointId}). index.html gets
 * a <base href> naming the console's root, so Vite's relative asset URLs
 * resolve from any deep link and under any ingress prefix.
 */
export async function serveConsole(
  rt: Runtime & { readonly tenancy: TenancyState },
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  const rel = pathname.slice(CONSOLE_PREFIX.length).replace(/^\/+/, '');
  const prefix = forwardedPrefix(req);
  const config = await consoleConfig(rt, prefix);
  if (rel === 'config.json') {
    sendJson(res, 200, config, { 'cache-control': 'no-store' });
    return;
  }
  // A build that failed is retried on the next request instead of being cached.
  const table = await (files ??= loadConsoleFiles());
  if (!table) {
    files = undefined;
    throw new CexError('CONSOLE_NOT_BUILT', 'the console was not built: run `make build`');
  }
  const file = table.get(rel);
  if (file && rel !== 'index.html') return send(req, res, file.body, file.contentType, file.hashed ? IMMUTABLE : REVALIDATE);
  // A missing bundle must not get index.html: the browser would run HTML as a script.
  if (rel.startsWith('assets/') || /\.(js|css|map|png|svg|ico|woff2)$/.test(rel)) {
    throw new CexError('NOT_FOUND', `no console file ${rel}`);
  }
  const index = table.get('index.html')!.body.toString('utf8');
  const base = `<base href="${prefix}${CONSOLE_PREFIX}/">`;
  send(req, res, Buffer.from(index.replace(/<head>/i, `<head>\n    ${base}`), 'utf8'), 'text/html; charset=utf-8', REVALIDATE, {
    'content-security-policy': contentSecurityPolicy(config),
  });
}

// Vite names bundles by content hash: a year, never revalidated.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// index.html names the current bundles, so it is checked on every load.
const REVALIDATE = 'no-cache';

/**
 * Scripts, styles and images from the console's own origin only; API calls
 * to it, plus the issuers' origins for sign-in (discovery and the token
 * endpoint). Nothing is loaded from a CDN; the page works offline.
 */
function contentSecurityPolicy(config: ConsoleConfig): string {
  const connect = ["'self'", ...issuerOrigins(config)].join(' ');
  return [
    "default-src 'self'",
    `connect-src ${connect}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  contentType: string,
  cacheControl: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': body.length,
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
