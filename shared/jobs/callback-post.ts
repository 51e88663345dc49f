import { createHmac } from 'node:crypto';
import { hostAllowed } from '../config/index.js';

/** One callback attempt: where, what, and under which rules. */
export interface CallbackAttempt {
  url: string;
  /** The exact bytes sent and signed (the descriptor's JSON text). */
  body: string;
  deliveryId: string;
  attempt: number;
  /** CEX_CALLBACK_ALLOWED_HOSTS (host or host:port entries), checked now, not only at invoke time. */
  allowedHosts: readonly string[];
  /** CEX_CALLBACK_SECRET: when set, X-CEX-Signature is sent. */
  secret: string | undefined;
  timeoutMs: number;
  /** Aborted on shutdown. */
  signal: AbortSignal;
  /** W3C trace context headers (`traceparent`) when tracing is on. */
  traceHeaders?: Readonly<Record<string, string>>;
}

/**
 * - delivered: a 2xx;
 * - failed: anything else (status, timeout, network, a redirect not followed): retry later;
 * - refused: the host is not (or no longer) allowed: never retried.
 */
export type AttemptResult =
  { outcome: 'delivered'; status: number } | { outcome: 'failed'; status?: number; error: string } | { outcome: 'refused'; error: string };

// A receiver behind a proxy may answer 307/308 to its own canonical URL once
// or twice; more is a loop.
const MAX_REDIRECTS = 3;

/** `sha256=<hex>` of HMAC-SHA256(secret, body): what X-CEX-Signature carries. */
export function callbackSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Whether `url` may receive callbacks: http(s) and a host on the allow-list. */
export function callbackHostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  return (url.protocol === 'http:' || url.protocol === 'https:') && hostAllowed(url, allowedHosts);
}

/**
 * POSTs the body once. Redirects are followed by hand and only when they
 * keep the method and body (307/308) and stay on the same origin: a
 * redirect must not carry a signed result to a host nobody allowed.
 */
export async function postCallback(a: CallbackAttempt): Promise<AttemptResult> {
  let url: URL;
  try {
    url = new URL(a.url);
  } catch {
    return { outcome: 'refused', error: 'the callback URL is not a URL' };
  }
  // Stored before invoke refused them: fetch cannot send them, so it never can be delivered.
  if (url.username || url.password) return { outcome: 'refused', error: 'the callback URL carries a user name or password' };
  if (!callbackHostAllowed(url, a.allowedHosts))
    return { outcome: 'refused', error: `host ${url.host} is not in CEX_CALLBACK_ALLOWED_HOSTS` };
  const headers: Record<string, string> = {
    ...a.traceHeaders,
    'content-type': 'application/json',
    'user-agent': 'cex-callbacks/1',
    'x-cex-delivery-id': a.deliveryId,
    'x-cex-attempt': String(a.attempt),
  };
  if (a.secret) headers['x-cex-signature'] = callbackSignature(a.secret, a.body);
  const signal = AbortSignal.any([a.signal, AbortSignal.timeout(a.timeoutMs)]);
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetch(url, { method: 'POST', headers, body: a.body, redirect: 'manual', signal });
      // The receiver's answer body is of no use; free the socket.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { outcome: 'delivered', status: res.status };
      if (res.status < 300 || res.status >= 400) return { outcome: 'failed', status: res.status, error: `HTTP ${res.status}` };
      const location = res.headers.get('location');
      const next = location ? safeUrl(location, url) : undefined;
      if (!next || (res.status !== 307 && res.status !== 308) || next.origin !== url.origin || hop >= MAX_REDIRECTS) {
        const where = next ? `${next.origin}${next.pathname}` : location === null ? 'nowhere' : 'an invalid location';
        return { outcome: 'failed', status: res.status, error: `redirect (${res.status}) to ${where} not followed` };
      }
      url = next;
    }
  } catch (err) {
    const timedOut = signal.aborted && !a.signal.aborted;
    return { outcome: 'failed', error: timedOut ? `no answer within ${a.timeoutMs} ms` : withoutUrlSecrets(errorText(err)) };
  }
}

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/**
 * `text` with the user, password and query string of any URL in it cut out.
 * Errors end up in the log and in the outbox row; a callback URL's query may
 * carry the receiver's token.
 */
export function withoutUrlSecrets(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1').replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)[?#][^\s]*/gi, '$1');
}

function errorText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
