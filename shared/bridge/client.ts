import { internalAuthHeaders } from '../auth/internal.js';
import type { Config } from '../config/index.js';
import { CexError, errorCodeWithStatus, UnavailableError } from '../errors/index.js';
import { NATS_REQUEST_PATH, type NatsReplyBody, type NatsRequestBody } from './contract.js';
import { traceHttpClient } from '../tracing/index.js';

/**
 * The function side of the bridge's NATS request endpoint (contract.ts):
 * POSTs the request bytes, with the internal credential, to
 * `config.bridgeUrl` and returns the reply bytes. Throws a CexError the
 * REST edge can answer with as it is: 504 NATS_REQUEST_TIMEOUT when no reply
 * came in time, 503 when the bridge or NATS cannot be reached. The HTTP call
 * itself may take a little longer than `timeoutMs` (the bridge answers 504
 * first); past a few seconds more the bridge itself is taken as gone.
 */
export async function natsRequest(
  config: Pick<Config, 'bridgeUrl' | 'internalAuth'>,
  subject: string,
  data: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array> {
  const body: NatsRequestBody = { subject, data: Buffer.from(data).toString('base64'), timeoutMs };
  let res: Response;
  try {
    const url = `${config.bridgeUrl}${NATS_REQUEST_PATH}`;
    // A client span in the caller's trace (tracing on): the bridge's request and its NATS message join it.
    res = await traceHttpClient(
      { method: 'POST', url },
      (trace) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...internalAuthHeaders(config), ...trace },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs + 5_000),
        }),
      (r) => ({ status: r.status, failed: r.status >= 500 }),
    );
  } catch (err) {
    throw new UnavailableError('BRIDGE_UNAVAILABLE', `the nats-bridge cannot be reached: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text().catch(() => '');
  if (res.status === 200) {
    try {
      return Buffer.from((JSON.parse(text) as NatsReplyBody).data, 'base64');
    } catch (err) {
      throw new CexError('BRIDGE_BAD_ANSWER', 'the nats-bridge answered something that is not a reply', { cause: err });
    }
  }
  const code = problemCode(text);
  // The bridge's own code is passed on when it is one of CEX's codes for that status.
  if (res.status === 504)
    throw new CexError(errorCodeWithStatus(code, 504) ?? 'NATS_REQUEST_TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms`);
  if (res.status === 503) {
    throw new UnavailableError(
      errorCodeWithStatus(code, 503) ?? 'NATS_UNAVAILABLE',
      'NATS cannot be reached through the bridge; nothing was stored',
    );
  }
  // Anything else is a bug between two CEX units, not the caller's mistake.
  throw new CexError('BRIDGE_REFUSED', `the nats-bridge answered ${res.status} ${code ?? ''}`.trim());
}

function problemCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
