/**
 * The CLI's HTTP side: JSON calls against the REST API and a server-sent
 * events reader, on Node's own fetch (no runtime dependency).
 */

/** Where CEX is and who is asking (CEX_URL, CEX_TOKEN). */
export interface Api {
  /** Base URL, without trailing slash; may include an ingress prefix (…/cex). */
  url: string;
  token: string | undefined;
}

/** A non-2xx answer, with the problem+json code when there was one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The network failed (CEX not reachable, connection reset). */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * The base URL from --url or CEX_URL: with or without a trailing `/api/v1`
 * (both forms are common in docs and scripts), trailing slashes dropped.
 * Undefined when it is not an http(s) URL.
 */
export function baseUrl(raw: string): string | undefined {
  const url = raw
    .trim()
    .replace(/\/+$/, '')
    .replace(/\/api\/v1$/, '');
  return /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(url) ? url : undefined;
}

function headersOf(api: Api, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(api.token ? { authorization: `Bearer ${api.token}` } : {}), ...extra };
}

/**
 * The URL of `path`: an API path (`/endpoints/…`, put below CEX_URL/api/v1)
 * or an absolute path from a Location header (`/cex/api/v1/…`, which already
 * carries any ingress prefix, resolved against CEX_URL's origin).
 */
export function apiUrl(api: Api, path: string, query: Record<string, string | number | undefined> = {}): URL {
  const url = path.includes('/api/v1/') ? new URL(path, api.url) : new URL(`${api.url}/api/v1${path}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

/** One JSON call; throws ApiError for 4xx/5xx, NetworkError when CEX cannot be reached. */
export async function call(api: Api, method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer> {
  let res: Response;
  try {
    res = await fetch(apiUrl(api, path, options.query), {
      method,
      headers: headersOf(api, { ...options.headers, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) }),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    throw new NetworkError(`cannot reach ${api.url}: ${causeOf(err)}`);
  }
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (res.status >= 400) {
    const problem = (body ?? {}) as { code?: string; detail?: string; title?: string };
    const retryAfter = Number(res.headers.get('retry-after') ?? Number.NaN);
    throw new ApiError(
      res.status,
      problem.code ?? `HTTP_${res.status}`,
      problem.detail ?? problem.title ?? `HTTP ${res.status}`,
      Number.isFinite(retryAfter) ? retryAfter : undefined,
    );
  }
  return { status: res.status, headers: res.headers, body };
}

export interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** How `callRetrying` retries: how often, and what it says before each retry. */
export interface RetryPolicy {
  retries: number;
  onRetry(reason: string, delayMs: number): void;
}

// A 503's Retry-After is honoured up to this; without one, 0.5 s, then 1 s.
const MAX_RETRY_DELAY_MS = 5_000;

/**
 * `call`, repeated on a lost connection or a 503 (CEX restarting, its
 * database briefly away, too many waiters) with the very same request,
 * headers included: an invoke's Idempotency-Key makes a repeat of a command
 * that was stored before the answer got lost return that command.
 */
export async function callRetrying(api: Api, method: string, path: string, options: CallOptions, policy: RetryPolicy): Promise<ApiAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(api, method, path, options);
    } catch (err) {
      const retryable = err instanceof NetworkError || (err instanceof ApiError && err.status === 503);
      if (!retryable || attempt >= policy.retries || options.signal?.aborted) throw err;
      const hinted = err instanceof ApiError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 500 * 2 ** attempt;
      const delay = Math.min(MAX_RETRY_DELAY_MS, hinted);
      policy.onRetry(err instanceof ApiError ? `${err.status} ${err.code}` : err.message, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** One server-sent event. */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/**
 * Reads one event stream until it ends; yields each event. Resolves with
 * 'ended' when the server closed it, 'done' on 204 (nothing more will ever
 * come). Throws ApiError / NetworkError like `call`.
 */
export async function* readEvents(
  api: Api,
  path: string,
  lastEventId: string | undefined,
  signal: AbortSignal,
): AsyncGenerator<SseEvent, 'ended' | 'done'> {
  let res: Response;
  try {
    res = await fetch(apiUrl(api, path), {
      headers: headersOf(api, { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }),
      signal,
    });
  } catch (err) {
    if (signal.aborted) return 'ended';
    throw new NetworkError(`cannot reach ${api.url}: ${causeOf(err)}`);
  }
  if (res.status === 204) return 'done';
  if (res.status >= 400) {
    const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
    throw new ApiError(res.status, problem.code ?? `HTTP_${res.status}`, problem.detail ?? `HTTP ${res.status}`);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  let current: { event: string; id: string | undefined; data: string[] } = { event: 'message', id: undefined, data: [] };
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (current.data.length > 0) yield { event: current.event, id: current.id, data: current.data.join('\n') };
          current = { event: 'message', id: undefined, data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') current.event = value;
        else if (field === 'id') current.id = value;
        else if (field === 'data') current.data.push(value);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw new NetworkError(`the stream broke: ${causeOf(err)}`);
  }
  return 'ended';
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
