import { CHANNELS } from '../db/index.js';
import { repushDelayMillis } from '../domain/index.js';
import type { NatsHandle } from '../nats/index.js';
import { espExtensionDataSubject } from '../protocol/index.js';
import type { BridgeContext } from './context.js';
import {
  claimDueOutbox,
  completeCipResult,
  completePush,
  discardOutbox,
  dropEmptyPush,
  readEndpointState,
  readPushCommands,
  releaseOutbox,
  skipPush,
  type OutboxRow,
  type PushCommand,
} from '../store/index.js';
import { Loop } from '../jobs/loop.js';
import { buildCipResult, buildPush, isPublishableSubject } from './messages.js';

export interface DrainerSettings {
  /** Rows claimed per query. */
  batchSize: number;
  /** How long a claim holds; a dead claimer's rows are due again after it. */
  leaseMs: number;
  /** Rows processed at once (each: 2-3 queries, a publish and a flush). */
  parallel: number;
  /** A flush slower than this counts as failed (the row is retried). */
  flushTimeoutMs: number;
  /** The catch-up scan: NOTIFY is only a hint (docs/architecture.md). */
  intervalMs: number;
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
};

// NATS's default max_payload, for the moment before the server's INFO is known.
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** A row that can never be published: discarded, not retried. */
class PermanentError extends Error {}

/**
 * Publishes the outbox: push rows become ExtensionData pushes, cip_result
 * rows CommandInvocationResults. Woken by NOTIFY, by every reconnect of the
 * LISTEN connection and by a 1 s catch-up scan; works only while NATS is up.
 * Rows are claimed with a lease, so replicas share the work and never send
 * one row twice at once; a row is deleted only after its publish was flushed.
 */
export class OutboxDrainer {
  private readonly loop: Loop;
  private readonly unlisten: (() => void)[] = [];

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
      .listen(CHANNELS.outbox, () => this.loop.trigger())
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

  async stop(): Promise<void> {
    for (const off of this.unlisten.splice(0)) off();
    await this.loop.stop();
  }

  /** Claims and publishes due rows until none is left or NATS is down. Returns the rows handled. */
  async drain(): Promise<number> {
    let handled = 0;
    while (this.nats()?.connected()) {
      const rows = await claimDueOutbox(this.rt.sql, this.settings.batchSize, this.settings.leaseMs);
      await forEachLimit(rows, this.settings.parallel, (row) => this.process(row));
      handled += rows.length;
      if (rows.length < this.settings.batchSize) break;
    }
    return handled;
  }

  private async process(row: OutboxRow): Promise<void> {
    const handle = this.nats();
    const log = this.rt.log.child({ outboxId: row.id, kind: row.kind, endpointId: row.endpointId, commandType: row.commandType });
    try {
      // NATS went down mid-batch: give the row back untouched (no backoff).
      if (!handle?.connected()) return await releaseOutbox(this.rt.sql, row.id, 0, null);
      if (row.kind === 'push') await this.push(handle, row, log);
      else await this.cipResult(handle, row);
    } catch (err) {
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

  private async push(handle: NatsHandle, row: OutboxRow, log: BridgeContext['log']): Promise<void> {
    const { sql, config, metrics } = this.rt;
    const state = await readEndpointState(sql, row.endpointId, row.commandType);
    if (state.online === false || !state.observes) {
      await skipPush(sql, row);
      log.debug({ online: state.online, observes: state.observes }, 'push skipped: endpoint offline or not observing');
      return;
    }
    const commands = await readPushCommands(sql, row.endpointId, row.commandType, row.includeIds);
    if (commands.length === 0) return void (await dropEmptyPush(sql, row));
    const push = buildPush({
      endpointId: row.endpointId,
      commandType: row.commandType,
      appVersionName: state.appVersionName,
      commands,
      extensionInstanceName: config.instanceName,
      maxBytes: handle.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
    });
    if (push.oversize.length > 0)
      log.error({ commandIds: push.oversize }, 'commands too large for one NATS message are left out of the push');
    if (push.included.length === 0) return void (await dropEmptyPush(sql, row));
    handle.nc.publish(espExtensionDataSubject(config.kpcInstanceName), push.bytes);
    await flushWithin(handle, this.settings.flushTimeoutMs);
    const included = new Set(push.included);
    const { initialMs, maxMs } = config.repush;
    await completePush(
      sql,
      row,
      commands
        .filter((c) => !push.oversize.includes(c.commandId))
        .map((c) => ({
          commandId: c.commandId,
          pushed: included.has(c.commandId),
          // Cut for size: try again after the first delay, without counting a push.
          repushDelayMs: included.has(c.commandId) ? repushDelayMillis(c.pushCount + 1, initialMs, maxMs) : initialMs,
        })),
    );
    metrics.pushes.inc({ reason: pushReason(commands) });
    log.debug({ correlationId: push.correlationId, commandIds: push.included }, 'commands pushed');
  }

  private async cipResult(handle: NatsHandle, row: OutboxRow): Promise<void> {
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
    handle.nc.publish(message.replySubject, bytes);
    await flushWithin(handle, this.settings.flushTimeoutMs);
    await completeCipResult(this.rt.sql, row);
    this.rt.log.debug(
      { correlationId: message.correlationId, commandId: row.commandId, statusCode: message.statusCode },
      'CIP result published',
    );
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
