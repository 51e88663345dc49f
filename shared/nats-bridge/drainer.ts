import { CHANNELS, outboxHintFor } from '../db/index.js';
import { repushDelayMillis } from '../domain/index.js';
import type { NatsHandle } from '../nats/index.js';
import { espExtensionDataSubject } from '../protocol/index.js';
import type { BridgeContext } from './context.js';
import {
  claimDueBatch,
  completeCipResult,
  completePush,
  completePushes,
  discardOutbox,
  dropEmptyPush,
  releaseOutbox,
  skipPush,
  type ClaimedRow,
  type OutboxRow,
  type PublishedPush,
  type PushCommand,
  type PushPlan,
} from '../store/index.js';
import { Loop } from '../jobs/loop.js';
import type { LocalDrainer } from '../bridge/local-events.js';
import { publishTraced } from '../tracing/nats.js';
import { buildCipResult, buildPush, isPublishableSubject, type BuiltPush } from './messages.js';

export interface DrainerSettings {
  /** Rows claimed per query. */
  batchSize: number;
  /** How long a claim holds; a dead claimer's rows are due again after it. */
  leaseMs: number;
  /** Rows settled at once outside the batch's statements (skipped, empty or failed rows; CIP completions). */
  parallel: number;
  /** A flush slower than this counts as failed (the row is retried). */
  flushTimeoutMs: number;
  /** The catch-up scan: NOTIFY is only a hint (docs/architecture.md). */
  intervalMs: number;
  /**
   * A push row that two or more requests joined while its push was in flight
   * waits this long before its next push (store/push.ts completePushes).
   */
  burstHoldMs: number;
}

/**
 * A 10 s lease is far above the few ms a row takes (flush included, capped
 * at 3 s) and short enough that rows claimed by a bridge that was SIGKILLed
 * are pushed by its successor within ~10 s.
 */
export const DEFAULT_DRAINER_SETTINGS: DrainerSettings = {
  batchSize: 100,
  leaseMs: 10_000,
  parallel: 8,
  flushTimeoutMs: 3_000,
  intervalMs: 1_000,
  // 100 concurrent creates for one endpoint (~160 ms) were 6 to 11 pushes without a
  // hold (one per pass while the burst lasted), 2 to 5 with it; a caller's next command
  // joins alone and is never held.
  burstHoldMs: 25,
};

// NATS's default max_payload, for the moment before the server's INFO is known.
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Batches whose completion statements may run at once (see OutboxDrainer.track). */
const MAX_COMPLETING = 4;

/** A row that can never be published: discarded, not retried. */
class PermanentError extends Error {}

/**
 * Publishes the outbox: push rows become ExtensionData pushes, cip_result
 * rows CommandInvocationResults. Woken by NOTIFY, by every reconnect of the
 * LISTEN connection and by a 1 s catch-up scan; works only while NATS is up.
 * Rows are claimed with a lease, so replicas share the work and never send
 * one row twice at once; a row is deleted only after its publish was flushed.
 */
export class OutboxDrainer implements LocalDrainer {
  private readonly loop: Loop;
  private stopped = false;
  /** Push rows creates of this process claimed for it (offer), not yet taken into a batch. */
  private readonly offered: ClaimedRow[] = [];
  private offering: Promise<void> | undefined;
  private readonly unlisten: (() => void)[] = [];
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rt: BridgeContext,
    private readonly nats: () => NatsHandle | undefined,
    private readonly settings: DrainerSettings,
  ) {
    this.loop = new Loop('outbox drain', settings.intervalMs, async () => void (await this.drain()), rt.log);
  }

  start(): void {
    const listener = this.rt.listener;
    this.unlisten.push(listener.onReconnect(() => this.loop.trigger()));
    listener
      .listen(CHANNELS.outbox, (payload) => {
        if (outboxHintFor(payload, 'bridge')) this.loop.trigger();
      })
      .then(
        (off) => this.unlisten.push(off),
        (err) => this.rt.log.error({ err }, 'LISTEN on the outbox channel failed; the catch-up scan remains'),
      );
    this.loop.start();
  }

  /** Wakes the drainer (e.g. after the re-push scheduler wrote rows). */
  trigger(): void {
    this.loop.trigger();
  }

  get leaseMs(): number {
    return this.settings.leaseMs;
  }

  canPublish(): boolean {
    return !this.stopped && this.nats()?.connected() === true;
  }

  /**
   * Rows a create of this process claimed for this drainer: published at
   * once. Rows offered while a batch's flush is in flight go out together
   * in the next one, so under load they share flushes and completion
   * statements as claimed batches do. A batch that fails is left to its
   * lease (due again after it, for any drainer).
   */
  offer(claimed: readonly ClaimedRow[]): void {
    this.offered.push(...claimed);
    this.offering ??= this.publishOffered().finally(() => (this.offering = undefined));
  }

  private async publishOffered(): Promise<void> {
    while (this.offered.length > 0) {
      const batch = this.offered.splice(0);
      await this.processBatch(batch).catch((err: unknown) =>
        this.rt.log.warn({ err, rows: batch.length }, 'publishing claimed pushes failed; their lease will make them due again'),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unlisten.splice(0)) off();
    clearTimeout(this.holdTimer);
    await this.loop.stop();
    await this.offering;
    await this.settled();
  }

  /**
   * Claims and publishes due rows until none is left or NATS is down.
   * Returns the rows handled; their completions may still be running
   * (settled() waits for them).
   */
  async drain(): Promise<number> {
    let handled = 0;
    while (this.nats()?.connected()) {
      const rows = await claimDueBatch(this.rt.sql, this.settings.batchSize, this.settings.leaseMs);
      if (rows.length > 0) await this.processBatch(rows);
      handled += rows.length;
      if (rows.length < this.settings.batchSize) break;
    }
    return handled;
  }

  /** Waits for every completion still running. */
  async settled(): Promise<void> {
    while (this.completing.size > 0) await Promise.all([...this.completing]);
  }

  /**
   * Completions run beside the next claim, not before it: under load the
   * next batch is claimed and published while the last one's statement is
   * in flight (the claim never takes a row still being completed: its
   * lease holds). At most MAX_COMPLETING at once, so a slow database
   * slows the drainer down rather than piling statements up.
   */
  private readonly completing = new Set<Promise<void>>();

  private async track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => this.completing.delete(tracked));
    this.completing.add(tracked);
    while (this.completing.size >= MAX_COMPLETING) await Promise.race(this.completing);
  }

  /**
   * One claimed batch in a fixed number of round trips, whatever its size:
   * the claim read every push row's endpoint state and commands already;
   * every message published, ONE flush, one statement completing every push (the CIP
   * results are deleted row by row: each compares its own message). Rows
   * that need no publish (endpoint offline, nothing outstanding) and rows
   * that fail are settled on their own, beside the batch.
   */
  private async processBatch(claimed: ClaimedRow[]): Promise<void> {
    const handle = this.nats();
    // NATS went down between the claim and now: give the rows back untouched (no backoff).
    if (!handle?.connected()) {
      await forEachLimit(claimed, this.settings.parallel, ({ row }) => releaseOutbox(this.rt.sql, row.id, 0, null).catch(() => undefined));
      return;
    }
    const pushes: { row: OutboxRow; plan: PushPlan; built: BuiltPush }[] = [];
    const cipResults: OutboxRow[] = [];
    const settleAlone: (() => Promise<unknown>)[] = [];
    for (const { row, plan: claimedPlan } of claimed) {
      try {
        if (row.kind === 'cip_result') {
          this.publishCipResult(handle, row);
          cipResults.push(row);
          continue;
        }
        const plan = claimedPlan ?? { appVersionName: null, online: null, observes: true, commands: [] };
        const built = this.publishPush(handle, row, plan);
        if (built === 'skip') settleAlone.push(() => skipPush(this.rt.sql, row));
        else if (built === 'empty') settleAlone.push(() => dropEmptyPush(this.rt.sql, row));
        else pushes.push({ row, plan, built });
      } catch (err) {
        settleAlone.push(() => this.failed(row, err));
      }
    }
    const alone = forEachLimit(settleAlone, this.settings.parallel, (settle) =>
      settle().then(
        () => undefined,
        (err: unknown) => this.rt.log.warn({ err }, 'settling an outbox row failed; its lease will make it due again'),
      ),
    );
    const published = [...pushes.map((p) => p.row), ...cipResults];
    if (published.length > 0) {
      try {
        await flushWithin(handle, this.settings.flushTimeoutMs);
      } catch (err) {
        await Promise.all([alone, forEachLimit(published, this.settings.parallel, (row) => this.failed(row, err))]);
        return;
      }
      await this.track(
        Promise.all([this.completePushes(pushes), forEachLimit(cipResults, this.settings.parallel, (row) => this.completeCip(row))]).then(
          () => undefined,
        ),
      );
    }
    await alone;
  }

  /**
   * Publishes the push of one row (not flushed), or says why there is none:
   * 'skip' when the endpoint is offline or does not observe the type, 'empty'
   * when nothing is outstanding.
   */
  private publishPush(handle: NatsHandle, row: OutboxRow, plan: PushPlan): BuiltPush | 'skip' | 'empty' {
    const { config } = this.rt;
    if (plan.online === false || !plan.observes) {
      this.rt.log.debug(
        { endpointId: row.endpointId, commandType: row.commandType, online: plan.online, observes: plan.observes },
        'push skipped: endpoint offline or not observing',
      );
      return 'skip';
    }
    if (plan.commands.length === 0) return 'empty';
    const push = buildPush({
      endpointId: row.endpointId,
      commandType: row.commandType,
      appVersionName: plan.appVersionName,
      commands: plan.commands,
      extensionInstanceName: config.instanceName,
      maxBytes: handle.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
    });
    if (push.oversize.length > 0)
      this.rt.log.error(
        { endpointId: row.endpointId, commandType: row.commandType, commandIds: push.oversize },
        'commands too large for one NATS message are left out of the push',
      );
    if (push.included.length === 0) return 'empty';
    publishTraced(handle.nc, espExtensionDataSubject(config.kpcInstanceName), push.bytes, () => ({
      traceparents: plan.commands.filter((c) => push.included.includes(c.commandId)).map((c) => c.traceparent),
      correlationId: push.correlationId,
      attributes: { 'cex.endpoint_id': row.endpointId, 'cex.command_type': row.commandType, 'cex.command_ids': push.included },
    }));
    return push;
  }

  /** After the flush: every push of the batch completed in one statement (row by row if that fails). */
  private async completePushes(pushes: { row: OutboxRow; plan: PushPlan; built: BuiltPush }[]): Promise<void> {
    if (pushes.length === 0) return;
    const { initialMs, maxMs } = this.rt.config.repush;
    const published: PublishedPush[] = pushes.map(({ row, plan, built }) => {
      const included = new Set(built.included);
      const oversize = new Set(built.oversize);
      return {
        row,
        pushed: plan.commands
          .filter((c) => !oversize.has(c.commandId))
          .map((c) => ({
            commandId: c.commandId,
            pushed: included.has(c.commandId),
            // Cut for size: try again after the first delay, without counting a push.
            repushDelayMs: included.has(c.commandId) ? repushDelayMillis(c.pushCount + 1, initialMs, maxMs) : initialMs,
          })),
      };
    });
    try {
      const { released, held } = await completePushes(this.rt.sql, published, this.settings.burstHoldMs);
      // A row whose generation moved was released: another pass serves it, at once or after its hold.
      if (released > 0) this.loop.trigger();
      if (held > 0) this.holdTimer ??= setTimeout(() => ((this.holdTimer = undefined), this.loop.trigger()), this.settings.burstHoldMs + 1);
    } catch (err) {
      // A deadlock with the expiry sweeper, say: the pushes happened, so each is completed on its own.
      this.rt.log.warn({ err, rows: published.length }, 'completing a batch of pushes failed; completing row by row');
      await forEachLimit(published, this.settings.parallel, ({ row, pushed }) =>
        completePush(this.rt.sql, row, pushed).then(
          () => undefined,
          (e: unknown) => this.rt.log.warn({ err: e, outboxId: row.id }, 'completing a push failed; its lease will make it due again'),
        ),
      );
    }
    for (const { row, plan, built } of pushes) {
      this.rt.metrics.pushes.inc({ reason: pushReason(plan.commands) });
      this.rt.log.debug(
        { endpointId: row.endpointId, commandType: row.commandType, correlationId: built.correlationId, commandIds: built.included },
        'commands pushed',
      );
    }
  }

  /** Publishes one CIP result (not flushed); a message that can never be built is a PermanentError. */
  private publishCipResult(handle: NatsHandle, row: OutboxRow): void {
    const message = row.message;
    if (!message || row.commandId === null || !isPublishableSubject(message.replySubject)) {
      throw new PermanentError(`no publishable reply subject: ${JSON.stringify(message?.replySubject)}`);
    }
    let bytes: Buffer;
    try {
      bytes = buildCipResult({ endpointId: row.endpointId, commandType: row.commandType, commandId: row.commandId, message });
    } catch (err) {
      throw new PermanentError(err instanceof Error ? err.message : String(err));
    }
    publishTraced(handle.nc, message.replySubject, bytes, () => ({
      traceparents: [message.traceparent],
      // A caller's reply subject, one per request: not a span name.
      destination: '(reply)',
      correlationId: message.correlationId,
      attributes: { 'cex.endpoint_id': row.endpointId, 'cex.command_type': row.commandType, 'cex.command_id': row.commandId! },
    }));
  }

  private async completeCip(row: OutboxRow): Promise<void> {
    try {
      await completeCipResult(this.rt.sql, row);
      this.rt.log.debug(
        { correlationId: row.message?.correlationId, commandId: row.commandId, statusCode: row.message?.statusCode },
        'CIP result published',
      );
    } catch (err) {
      // Published already: the lease makes the row due again, and the caller may get it twice (at least once).
      this.rt.log.warn({ err, outboxId: row.id }, 'completing a CIP result failed; its lease will make it due again');
    }
  }

  /** A row that failed: discarded when it can never be published, else released with backoff. */
  private async failed(row: OutboxRow, err: unknown): Promise<void> {
    const log = this.rt.log.child({ outboxId: row.id, kind: row.kind, endpointId: row.endpointId, commandType: row.commandType });
    if (err instanceof PermanentError) {
      log.error({ err: err.message, commandId: row.commandId }, 'outbox row can never be published; discarded');
      await discardOutbox(this.rt.sql, row.id).catch(() => undefined);
      return;
    }
    // 0.5 s doubling to 30 s: a poison row cannot spin, a blip costs half a second.
    const delay = Math.min(30_000, 500 * 2 ** Math.min(row.attempts - 1, 10));
    log.warn({ err, attempts: row.attempts, retryInMs: delay }, 'outbox row failed; will retry');
    await releaseOutbox(this.rt.sql, row.id, delay, err instanceof Error ? err.message : String(err)).catch(() => undefined);
  }
}

/**
 * The push's reason for the pushes metric: a command never pushed makes it
 * 'new'; else a command whose re-push was due makes it 'repush'; else it was
 * asked for by a 9/ELCE connect.
 */
export function pushReason(commands: readonly PushCommand[]): 'new' | 'repush' | 'connect' {
  if (commands.some((c) => c.pushCount === 0)) return 'new';
  return commands.some((c) => c.repushDue) ? 'repush' : 'connect';
}

async function flushWithin(handle: NatsHandle, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`NATS flush took over ${ms} ms`)), ms)));
  try {
    await Promise.race([handle.nc.flush(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
