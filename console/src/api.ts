import { auth } from './auth.js';

/** A problem+json answer (CEX-API.md §2), or a network failure (status 0). */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }

  /** The scope a 403 names (`this operation needs the "endpoint:update" scope`). */
  get missingScope(): string | undefined {
    return this.status === 403 ? /"([^"]+)"/.exec(this.detail)?.[1] : undefined;
  }
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

let apiBase = '/api/v1';

/** Set once from /console/config.json (it carries the ingress prefix). */
export function setApiBase(base: string): void {
  apiBase = base.replace(/\/+$/, '');
}

/** The URL of an API path (`/endpoints/…`) with its query; undefined values are left out. */
export function apiUrl(path: string, query: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return `${apiBase}${path}${qs ? `?${qs}` : ''}`;
}

/** Request headers of every call: the bearer token when signed in (never put in a URL). */
export function authHeaders(): Record<string, string> {
  const token = auth.token();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * One API call. A 4xx/5xx throws ApiProblem; a 401 also ends the session,
 * so the sign-in shows again (the token expired or was refused).
 */
export async function call<T = unknown>(
  method: string,
  path: string,
  options: { query?: Record<string, string | number | undefined>; json?: unknown; text?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.text !== undefined && options.text !== '') {
    headers['content-type'] = 'application/json';
    body = options.text;
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path, options.query), { method, headers, ...(body !== undefined ? { body } : {}) });
  } catch {
    throw new ApiProblem(0, 'NETWORK_ERROR', 'CEX could not be reached; check the connection and retry');
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (res.status >= 400) throw problemOf(res.status, parsed);
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** The ApiProblem of an error answer; a 401 ends the session. */
export function problemOf(status: number, body: unknown): ApiProblem {
  const p = (body && typeof body === 'object' ? body : {}) as { code?: string; detail?: string; title?: string };
  const problem = new ApiProblem(status, p.code ?? `HTTP_${status}`, p.detail ?? p.title ?? `HTTP ${status}`);
  if (status === 401) auth.expired(problem.detail);
  return problem;
}
