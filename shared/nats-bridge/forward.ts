import { publishListOf, type PublishRequest } from '../bridge/contract.js';
import type { LocalAnswer, LocalEventHandler } from '../bridge/local-events.js';
import { traceHttpClient } from '../tracing/index.js';

/** How the bridge POSTs one event: per-attempt timeout and the pauses between attempts. */
export interface ForwardSettings {
  timeoutMs: number;
  /** One entry per retry: 3 entries = up to 4 attempts. */
  retryDelaysMs: readonly number[];
}

/**
 * 15 s per attempt: the functions answer in milliseconds, but a Knative
 * function scaled to zero needs a few seconds to start. Three retries 100 ms,
 * 400 ms and 1.6 s apart ride out a rolling restart of the function without
 * holding a message (and its slot) for long.
 */
export const DEFAULT_FORWARD_SETTINGS: ForwardSettings = { timeoutMs: 15_000, retryDelaysMs: [100, 400, 1600] };

/**
 * What became of a forward:
 * - answered: 200 with a valid FunctionAnswer (`publish` may be empty) or 204;
 * - rejected: 4xx, the event itself is bad (not retried);
 * - invalid_answer: 200 whose body is not a FunctionAnswer (not retried: a bug);
 * - failed: 5xx, 429, timeout or network error on every attempt;
 * - expired: the message expired before a retry could deliver it;
 * - aborted: shutdown ran out of time.
 */
export type ForwardOutcome = 'answered' | 'rejected' | 'invalid_answer' | 'failed' | 'expired' | 'aborted';

export interface ForwardResult {
  outcome: ForwardOutcome;
  /** The last HTTP status seen (undefined: no answer at all). */
  status: number | undefined;
  attempts: number;
  publish: PublishRequest[];
  /** Why the last attempt failed, for the log. */
  error?: string;
}

/**
 * POSTs a binary CloudEvent, retrying 5xx/429/timeouts/network errors.
 * fetch (undici) keeps connections alive per origin, so a steady stream of
 * events reuses a handful of sockets. `stillWanted` is asked before each
 * retry (false once the message has expired). With `local` (the unit runs
 * in this process: LocalEventDesk) each attempt calls it instead of
 * fetch, with the same outcomes and retries.
 */
export async function postEvent(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  settings: ForwardSettings,
  shutdown: AbortSignal,
  stillWanted: () => boolean,
  local?: LocalEventHandler,
): Promise<ForwardResult> {
  let status: number | undefined;
  let error: string | undefined;
  for (let attempt = 1; ; attempt++) {
    if (shutdown.aborted) return { outcome: 'aborted', status, attempts: attempt - 1, publish: [], error };
    try {
      const answer = local
        ? await withinTimeout(local(headers, body), settings.timeoutMs)
        : await postOnce(url, headers, body, settings.timeoutMs, shutdown);
      status = answer.status;
      if (status === 204) return { outcome: 'answered', status, attempts: attempt, publish: [] };
      if (status === 200) {
        if (answer.publish) return { outcome: 'answered', status, attempts: attempt, publish: answer.publish };
        return { outcome: 'invalid_answer', status, attempts: attempt, publish: [], error: answer.error };
      }
      error = answer.error;
      if (status < 500 && status !== 429) return { outcome: 'rejected', status, attempts: attempt, publish: [], error };
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      if (shutdown.aborted) return { outcome: 'aborted', status, attempts: attempt, publish: [], error };
    }
    const delay = settings.retryDelaysMs[attempt - 1];
    if (delay === undefined) return { outcome: 'failed', status, attempts: attempt, publish: [], error };
    await sleep(delay, shutdown);
    if (!stillWanted()) return { outcome: 'expired', status, attempts: attempt, publish: [], error };
  }
}

/** One POST: its status, and the messages of a 200 that is a FunctionAnswer (else its text as the error). */
async function postOnce(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  timeoutMs: number,
  shutdown: AbortSignal,
): Promise<LocalAnswer> {
  // An HTTP client span (tracing on): the function's server span is its
  // child, while ce-traceparent keeps naming the bridge's span for the event.
  return traceHttpClient(
    { method: 'POST', url },
    async (trace) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...headers, ...trace },
        body,
        signal: AbortSignal.any([shutdown, AbortSignal.timeout(timeoutMs)]),
      });
      const text = await res.text();
      const publish = res.status === 200 ? parseAnswer(text) : undefined;
      return { status: res.status, ...(publish ? { publish } : { error: text.slice(0, 500) }) };
    },
    (answer) => ({ status: answer.status, failed: answer.status >= 500 }),
  );
}

/** `answer`, or a rejection after `ms` (an in-process unit that hangs is retried like a POST that timed out). */
async function withinTimeout(answer: Promise<LocalAnswer>, ms: number): Promise<LocalAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The messages of a FunctionAnswer body, or undefined when it is not one. */
export function parseAnswer(text: string): PublishRequest[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return publishListOf(value);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
