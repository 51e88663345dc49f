import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as z from 'zod';
import { ValidationError, CexError } from '../errors/index.js';
import { closest } from '../text/index.js';
import { sendProblem } from './problem.js';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** What a route handler gets: the raw request/response, path params, query, body. */
export interface RouteContext {
  req: IncomingMessage & { body?: unknown };
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body as read by the host (a Buffer; empty when there was none). */
  body: Buffer;
}

/**
 * One REST operation of a unit; `path` uses `{name}` placeholders relative
 * to the host root. `S` is what the handler is given besides the request:
 * the services of its process (shared/roots/services.ts), or the part of
 * them it uses.
 */
export interface Route<S = unknown> {
  unit: string;
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  /** For /openapi.json: the query parameters, request headers, the request body and the responses. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: Record<string, HeaderSpec>;
  requestBody?: { contentTypes: string[]; schema?: z.ZodType };
  responses?: Record<number, ResponseSpec>;
  /**
   * Error statuses this route answers besides those of every route (400,
   * 401, 403, 500, 503), each with what it means; all are problem+json.
   */
  errors?: Record<number, string>;
  handle(ctx: RouteContext, services: S): Promise<void>;
}

/** A request or response header, for /openapi.json. */
export interface HeaderSpec {
  description: string;
  /** Default: a string. */
  schema?: z.ZodType;
  required?: boolean;
}

/** A success response, for /openapi.json. */
export interface ResponseSpec {
  description: string;
  /** The body; absent means none. */
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, HeaderSpec>;
}

export interface CompiledRoute<S = unknown> {
  route: Route<S>;
  regex: RegExp;
  names: string[];
}

/** Compiles `{name}` placeholders to one path segment each. */
export function compileRoute<S>(route: Route<S>): CompiledRoute<S> {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const m = /^\{(\w+)\}$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { route, regex: new RegExp(`^${source}/?$`), names };
}

export interface RouteMatch<S = unknown> {
  route: Route<S>;
  params: Record<string, string>;
}

/**
 * Finds the route for (method, path). A path that matches under another
 * method gives `allowed` (405); none gives undefined (404). Literal segments
 * win over placeholders because routes are tried in declaration order.
 */
export function matchRoute<S>(
  routes: readonly CompiledRoute<S>[],
  method: string,
  pathname: string,
): RouteMatch<S> | { allowed: string[] } | undefined {
  const allowed: string[] = [];
  for (const c of routes) {
    const m = c.regex.exec(pathname);
    if (!m) continue;
    if (c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) {
      allowed.push(c.route.method);
      continue;
    }
    const params: Record<string, string> = {};
    c.names.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(m[i + 1]!);
      } catch {
        throw new ValidationError('INVALID_PATH', `path segment {${name}} is not valid percent-encoding`);
      }
    });
    return { route: c.route, params };
  }
  return allowed.length ? { allowed } : undefined;
}

/**
 * The Allow header of a path served with `methods`: HEAD wherever GET is
 * (matchRoute serves HEAD as GET), and OPTIONS, which the host answers
 * everywhere (CORS preflights).
 */
export function allowHeader(methods: readonly string[]): string {
  const all = new Set([...methods, 'OPTIONS']);
  if (all.has('GET')) all.add('HEAD');
  return [...all].sort().join(', ');
}

/** 405 for `method` where only `allow` is served, with the Allow header. */
export function sendMethodNotAllowed(res: ServerResponse, method: string | undefined, allow: string): void {
  sendProblem(res, new CexError('METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allow}`), { allow });
}

/**
 * The path and query of a request target. Dot segments are resolved (as an
 * ingress does); a backslash is refused: the URL parser would read it as "/",
 * where a proxy in front reads it as a plain character, so the two would
 * route one request differently.
 */
export function routePath(url: string | undefined): { pathname: string; query: URLSearchParams } {
  if (url?.split('?', 1)[0]!.includes('\\')) throw new ValidationError('INVALID_PATH', 'the request path must not contain a backslash');
  let parsed: URL;
  try {
    parsed = new URL(url ?? '/', 'http://cex.local');
  } catch {
    // `//` or `//host:99999/…` read as an authority the URL parser refuses (was a 500).
    throw new ValidationError('INVALID_PATH', 'the request target is not a valid path');
  }
  return { pathname: parsed.pathname, query: parsed.searchParams };
}

/**
 * Refuses a query parameter the route does not take: a typo such as
 * `awaitTimout` would otherwise be ignored and the default used, silently.
 * Checked before the handler runs, so nothing is stored.
 */
export function assertKnownQuery(route: Route<never>, query: URLSearchParams): void {
  const known = Object.keys(route.query?.shape ?? {});
  for (const name of new Set(query.keys())) {
    if (known.includes(name)) continue;
    const guess = closest(name, known);
    const takes = known.length ? `this route takes ${known.join(', ')}` : 'this route takes no query parameters';
    throw new ValidationError(
      'UNKNOWN_PARAMETER',
      `unknown query parameter "${name.slice(0, 64)}"${guess ? `; did you mean "${guess}"?` : ''} (${takes})`,
    );
  }
}

/**
 * Runs a matched route: unknown query parameters are refused first (nothing
 * is stored), then the handler gets the request and `services`.
 */
export async function runRoute<S>(
  match: RouteMatch<S>,
  req: RouteContext['req'],
  res: ServerResponse,
  query: URLSearchParams,
  body: Buffer,
  services: S,
): Promise<void> {
  assertKnownQuery(match.route as Route<never>, query);
  await match.route.handle({ req, res, params: match.params, query, body }, services);
}
