import { CHANNELS, outboxHintFor } from '../db/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { BridgeContext } from '../nats-bridge/context.js';
import { claimDueCallbacks, completeCallback, retryCallback, type CallbackRow } from '../store/index.js';
import { postCallback, type AttemptResult } from './callback-post.js';
import { Loop } from './loop.js';
import { traceHttpClient } from '../tracing/index.js';

export interface CallbackSettings {
  /** One attempt (redirect hops included) may take this long. */
  timeoutMs: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs, ±20 % jitter. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** No attempt is scheduled later than this after the row was written. */
  maxAgeMs: number;
  /** Deliveries in flight at once: a slow receiver must not hold up the others. */
  maxInFlight: number;
  /** The catch-up scan: NOTIFY is only a hint. */
  intervalMs: number;
}

/** The settings of config (CEX_CALLBACK_*), with 64 in flight and a 1 s catch-up scan. */
export function callbackSettings(config: Config): CallbackSettings {
  return { ...config.callbacks, maxInFlight: 64, intervalMs: 1_000 };
}

/** Delay before the attempt after `attempts` failed ones: initial, doubling, capped, jittered. */
export function callbackBackoffMs(
  attempts: number,
  settings: Pick<CallbackSettings, 'initialBackoffMs' | 'maxBackoffMs'>,
  random = Math.random(),
): number {
  const base = Math.min(settings.maxBackoffMs, settings.initialBackoffMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(base * (0.8 + 0.4 * random));
}

/**
 * Delivers result callbacks from the outbox (kind 'callback'), at least once:
 * a row is deleted only after a 2xx (or when it can never be delivered), so
 * a bridge that dies mid-attempt leaves it claimed until its lease runs out,
 * and any replica then tries again with the same X-CEX-Delivery-Id. Failed
 * attempts are rescheduled in the row itself (available_at), so the backoff
 * survives restarts too. Rows are claimed as slots free up, not in batches
 * that wait for their slowest member.
 */
export class CallbackDeliverer {
  private readonly loop: Loop;
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly unlisten: (() => void)[] = [];
  private readonly log: Logger;
  private stopping = false;

  constructor(
    private readonly rt: BridgeContext,
    private readonly settings: CallbackSettings,
  ) {
    this.log = rt.log.child({ component: 'callbacks' });
    this.loop = new Loop('callback delivery', settings.intervalMs, () => this.claim(), rt.log);
  }

  start(): this {
    const listener = this.rt.listener;
    this.unlisten.push(listener.onReconnect(() => this.loop.trigger()));
    listener
      .listen(CHANNELS.outbox, (payload) => {
        if (outboxHintFor(payload, 'callbacks')) this.loop.trigger();
      })
      .then(
        (off) => this.unlisten.push(off),
        (err) => this.log.error({ err }, 'LISTEN on the outbox channel failed; the catch-up scan remains'),
      );
    this.loop.start();
    return this;
  }

  /** Stops claiming; deliveries still running get until `deadline` (epoch ms), then are aborted and released. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const off of this.unlisten.splice(0)) off();
    await this.loop.stop();
    const all = () => Promise.all([...this.inFlight.values()].map((d) => d.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
    for (const d of this.inFlight.values()) d.abort.abort();
    await all();
  }

  private async claim(): Promise<boolean> {
    if (this.stopping) return false;
    const free = this.settings.maxInFlight - this.inFlight.size;
    if (free <= 0) return false;
    // The lease outlives one attempt (2x its timeout, plus 5 s for the
    // bookkeeping queries): a claimer killed mid-attempt holds the row that
    // long at most (25 s with the 10 s default), then any replica retries it.
    const rows = await claimDueCallbacks(this.rt.sql, free, this.settings.timeoutMs * 2 + 5_000);
    for (const row of rows) {
      const abort = new AbortController();
      const done = this.deliver(row, abort.signal)
        .catch((err) => this.log.error({ err, outboxId: row.id }, 'callback bookkeeping failed; the lease will make it due again'))
        .finally(() => {
          this.inFlight.delete(row.id);
          this.loop.trigger();
        });
      this.inFlight.set(row.id, { abort, done });
    }
    return rows.length === free;
  }

  private async deliver(row: CallbackRow, shutdown: AbortSignal): Promise<void> {
    const { sql, config, metrics } = this.rt;
    const log = this.log.child({
      endpointId: row.endpointId,
      commandType: row.commandType,
      commandId: row.commandId,
      deliveryId: row.deliveryId,
      attempt: row.attempts,
    });
    const message = row.message;
    if (!message || typeof message.url !== 'string' || typeof message.body !== 'string') {
      log.error({ outboxId: row.id }, 'callback row without url or body can never be delivered; dropped');
      metrics.callbacks.inc({ outcome: 'gave_up' });
      return completeCallback(sql, row.id);
    }
    // In the command's trace (tracing on), and the POST carries it on (traceparent).
    const traceparent = typeof message.traceparent === 'string' ? message.traceparent : undefined;
    const result = await traceHttpClient(
      { method: 'POST', url: message.url, parent: traceparent },
      (traceHeaders) =>
        postCallback({
          url: message.url,
          body: message.body,
          deliveryId: row.deliveryId,
          attempt: row.attempts,
          allowedHosts: config.callbackAllowedHosts,
          secret: config.callbackSecret,
          timeoutMs: this.settings.timeoutMs,
          signal: shutdown,
          traceHeaders,
        }),
      (r) => ({ status: 'status' in r ? r.status : undefined, failed: r.outcome !== 'delivered' }),
    );
    return this.settle(row, result, shutdown.aborted, log);
  }

  private async settle(row: CallbackRow, result: AttemptResult, interrupted: boolean, log: Logger): Promise<void> {
    const { sql, metrics } = this.rt;
    if (result.outcome === 'delivered') {
      metrics.callbacks.inc({ outcome: 'delivered' });
      log.info({ status: result.status }, 'callback delivered');
      return completeCallback(sql, row.id);
    }
    if (result.outcome === 'refused') {
      // The allow-list changed since the invoke, or the row predates a check
      // invoke makes now (credentials): never send it.
      metrics.callbacks.inc({ outcome: 'refused' });
      log.error({ error: result.error }, 'callback refused; dropped');
      return completeCallback(sql, row.id);
    }
    if (interrupted) {
      // Shutdown cut the attempt short: due again at once for whoever runs next.
      return retryCallback(sql, row.id, 0, 'interrupted by shutdown');
    }
    const delay = callbackBackoffMs(row.attempts, this.settings);
    const deadline = new Date(row.createdAt).getTime() + this.settings.maxAgeMs;
    if (Date.now() + delay > deadline) {
      metrics.callbacks.inc({ outcome: 'gave_up' });
      log.error(
        { error: result.error, status: result.status, attempts: row.attempts, maxAgeMs: this.settings.maxAgeMs },
        'callback given up: no 2xx within the retry window',
      );
      return completeCallback(sql, row.id);
    }
    metrics.callbacks.inc({ outcome: 'failed' });
    log.warn({ error: result.error, status: result.status, retryInMs: delay }, 'callback attempt failed; will retry');
    return retryCallback(sql, row.id, delay, result.error);
  }
}
