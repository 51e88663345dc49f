/**
 * The callback receiver of the fault scenarios: a local HTTP server standing
 * in for the callers' callbackUrl. Every tenth command's first POST is
 * answered 500, so retries happen while the faults do; everything else gets
 * 200. What it answered is derived from the same rule when the figures are
 * made (`answeredOk`).
 */
import { startReceiver, type Receiver } from '../callbacks/receiver.js';

/** Every CALLBACK_EVERY-th REST command carries a callbackUrl. */
export const CALLBACK_EVERY = 4;

/** The environment the bridge needs to deliver to the receiver, quickly retried. */
export const CALLBACK_ENV: Record<string, string> = {
  CEX_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
  CEX_CALLBACK_SECRET: 'fault-suite-callback-secret',
  // A failed attempt is retried after ~0.2 s (doubling to 2 s), and a bridge
  // killed mid-attempt holds its rows for 2 x 3 s + 5 s: seconds, not minutes.
  CEX_CALLBACK_INITIAL_BACKOFF_MS: '200',
  CEX_CALLBACK_MAX_BACKOFF_MS: '2000',
  CEX_CALLBACK_TIMEOUT_MS: '3000',
};

/** Whether the receiver answered 2xx to the `attempt`-th POST (from 1) of command n. */
export function answeredOk(n: number, attempt: number): boolean {
  return !(n % 10 === 0 && attempt === 1);
}

export interface CallbackReceiver {
  receiver: Receiver;
  /** The callbackUrl of REST command n, or undefined when it has none. */
  urlOf(n: number): string | undefined;
}

export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const receiver = await startReceiver();
  receiver.answer = (path, attempt) => ({ status: answeredOk(Number(path.split('/').at(-1)), attempt) ? 200 : 500 });
  return { receiver, urlOf: (n) => (n % CALLBACK_EVERY === 0 ? `${receiver.url}/cb/${n}` : undefined) };
}
