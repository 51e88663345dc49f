import * as z from 'zod';

// A DNS name or IPv4 address (labels of letters, digits and inner hyphens),
// or an IPv6 address in brackets; then an optional :port.
const ENTRY =
  /^(?:((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)|(\[[0-9a-f:.]+\]))(?::(\d{1,5}))?$/;

/**
 * CEX_CALLBACK_ALLOWED_HOSTS: comma-separated `host` (any port) or
 * `host:port` (that port only) entries, IPv6 in brackets (`[::1]:8080`).
 * Entries come back lower-case, IPv6 in its canonical form, so matching is
 * string equality; anything else (a URL, a path, a wildcard, port 0) is
 * refused at start, naming the entry.
 */
export const allowedHostList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const entries: string[] = [];
    for (const raw of (value ?? '').split(',')) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const normal = normalize(entry);
      if (normal) entries.push(normal);
      else
        ctx.addIssue({
          code: 'custom',
          message: `"${raw.trim()}" is not host or host:port (e.g. hooks.example.com, 127.0.0.1:18666, [::1]:8080)`,
        });
    }
    return entries;
  });

function normalize(entry: string): string | undefined {
  const m = ENTRY.exec(entry);
  if (!m) return undefined;
  const port = m[3];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) return undefined;
  let host = m[1] ?? m[2]!;
  if (m[2]) {
    try {
      host = new URL(`http://${m[2]}/`).hostname;
    } catch {
      return undefined;
    }
  }
  return port === undefined ? host : `${host}:${Number(port)}`;
}

/**
 * Whether `url`'s host is allowed: an entry naming its host alone, or its
 * host and port (the scheme's default port when the URL names none).
 */
export function hostAllowed(url: URL, allowed: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return allowed.includes(host) || (port !== '' && allowed.includes(`${host}:${port}`));
}

/**
 * CEX_CORS_ALLOWED_ORIGINS: comma-separated origins (`https://app.example.com`,
 * `http://localhost:3000`) whose browser pages may call the API, or `*` for
 * any; none by default. Entries come back lower-case; a URL with a path, a
 * bare host or another scheme is refused at start, naming the entry.
 */
export const allowedOriginList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const entries: string[] = [];
    for (const raw of (value ?? '').split(',')) {
      const entry = raw.trim();
      if (!entry) continue;
      if (entry === '*') {
        entries.push(entry);
        continue;
      }
      let origin: string | undefined;
      try {
        const url = new URL(entry);
        if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === entry.toLowerCase().replace(/:(80|443)$/, ''))
          origin = url.origin;
      } catch {
        origin = undefined;
      }
      if (origin) entries.push(origin);
      else
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}" is not an origin (scheme://host[:port], no path; e.g. https://app.example.com) or *`,
        });
    }
    return entries;
  });
