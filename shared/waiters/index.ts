import type { Sql, PgListener } from '../db/index.js';
import { CHANNELS, commandKey } from '../db/index.js';
import type { Command, CommandRef } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { readCommandsByKey } from '../store/index.js';
import type { Runtime } from '../runtime/index.js';

/** How a wait ended. */
export type WaitOutcome =
  | { kind: 'final'; command: Command } // EXECUTED or EXPIRED
  | { kind: 'deleted' } // the command is gone: answer 404
  | { kind: 'timeout' } // awaitTimeout passed: answer 202
  | { kind: 'released' }; // client gone, or this instance shutting down

interface Waiter {
  key: string;
  ref: CommandRef;
  resolve(outcome: WaitOutcome): void;
  timer: NodeJS.Timeout;
}

export interface WaiterOptions {
  sql: Sql;
  listener: () => PgListener;
  log: Logger;
  /** The slow safety re-read of every waiter (ms). NOTIFY is a hint; this is the guarantee. */
  safetyTickMs?: number;
  /** Most waiters at once (CEX_MAX_WAITERS); default unlimited. */
  maxWaiters?: number;
  onCountChange?: (count: number) => void;
}

/**
 * Sync waiters of one process: an in-memory map of waiting requests keyed by
 * command, woken by the ONE LISTEN connection. A result recorded on any
 * instance NOTIFYs the command's key after its commit; the instance holding
 * the waiter re-reads the row and answers.
 *
 * NOTIFY is only a hint. The rows still awaited are re-read (one query for
 * all of them) right after a waiter registers, after every listener
 * reconnect, and on a slow safety tick, so a crash between commit and NOTIFY
 * delays a wake-up by at most one tick and never loses it. 10,000 waiters
 * cost one connection, one timer each, and one query per tick.
 */
export class WaiterRegistry {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private ready: Promise<void> | undefined;
  private tick: NodeJS.Timeout | undefined;
  private count = 0;
  private stopped = false;

  constructor(private readonly options: WaiterOptions) {}

  get size(): number {
    return this.count;
  }

  /**
   * False once CEX_MAX_WAITERS requests wait: invoke answers 503 before it
   * stores anything. Each waiter is a socket, a timer and a map entry, so the
   * cap bounds this process's memory and file descriptors under a flood.
   */
  hasRoom(): boolean {
    return this.count < (this.options.maxWaiters ?? Infinity);
  }

  /**
   * Waits until the command is final or deleted, `timeoutMs` passes, or
   * `signal` aborts (client disconnected). Never rejects.
   */
  async wait(ref: CommandRef, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    // After stop() (shutdown) nothing waits: the caller answers 202 at once.
    if (this.stopped) return { kind: 'released' };
    await this.start();
    // Full after all (requests that passed hasRoom() together): the command is
    // stored, so the caller gets its 202 rather than an unbounded wait.
    if (signal?.aborted || this.stopped || !this.hasRoom()) return { kind: 'released' };
    const key = commandKey(ref);
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        key,
        ref,
        timer: setTimeout(() => finish({ kind: 'timeout' }), timeoutMs),
        resolve: () => undefined,
      };
      const onAbort = () => finish({ kind: 'released' });
      const finish = (outcome: WaitOutcome) => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.remove(waiter)) resolve(outcome);
      };
      waiter.resolve = finish;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.add(waiter);
      // The result may have been recorded before the waiter existed.
      this.markDirty(key);
    });
  }

  /** Releases every waiter (shutdown): their requests answer 202 at once. */
  releaseAll(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.resolve({ kind: 'released' });
  }

  stop(): void {
    this.stopped = true;
    this.releaseAll();
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
  }

  private start(): Promise<void> {
    if (!this.ready) {
      const listener = this.options.listener();
      listener.onReconnect(() => this.recheckAll());
      this.ready = listener.listen(CHANNELS.command, (payload) => this.onNotify(payload)).then(() => undefined);
      this.tick = setInterval(() => this.recheckAll(), this.options.safetyTickMs ?? 1000);
      this.tick.unref();
    }
    return this.ready;
  }

  private onNotify(payload: string): void {
    for (const key of payload.split('\n')) if (this.waiters.has(key)) this.markDirty(key);
  }

  private recheckAll(): void {
    for (const key of this.waiters.keys()) this.dirty.add(key);
    this.scheduleFlush();
  }

  private markDirty(key: string): void {
    this.dirty.add(key);
    this.scheduleFlush();
  }

  // Coalesces every key marked in one turn of the event loop into one query.
  private scheduleFlush(): void {
    if (this.flushScheduled || this.dirty.size === 0) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const keys = [...this.dirty].filter((k) => this.waiters.has(k));
    this.dirty.clear();
    if (keys.length === 0) return;
    const refs = keys.map((k) => [...this.waiters.get(k)!][0]!.ref);
    let rows: Command[];
    try {
      rows = await readCommandsByKey(this.options.sql, refs);
    } catch (err) {
      // The next tick (or reconnect) re-reads; a waiter that times out meanwhile answers 202.
      this.options.log.warn({ err: (err as Error).message, keys: keys.length }, 'waiter re-read failed');
      return;
    }
    const found = new Map(rows.map((c) => [commandKey(c), c]));
    for (const key of keys) {
      const command = found.get(key);
      const outcome: WaitOutcome | undefined = !command
        ? { kind: 'deleted' }
        : command.status !== 'PENDING'
          ? { kind: 'final', command }
          : undefined;
      if (!outcome) continue;
      for (const w of [...(this.waiters.get(key) ?? [])]) w.resolve(outcome);
    }
  }

  private add(w: Waiter): void {
    let set = this.waiters.get(w.key);
    if (!set) this.waiters.set(w.key, (set = new Set()));
    set.add(w);
    this.count++;
    this.options.onCountChange?.(this.count);
  }

  private remove(w: Waiter): boolean {
    const set = this.waiters.get(w.key);
    if (!set || !set.delete(w)) return false;
    if (set.size === 0) this.waiters.delete(w.key);
    this.count--;
    this.options.onCountChange?.(this.count);
    return true;
  }
}

const registries = new WeakMap<Runtime, WaiterRegistry>();

/**
 * The waiter registry of a runtime (one per process): created on first use,
 * released (every waiter answers 202) when the runtime begins shutdown.
 */
export function waitersFor(rt: Runtime): WaiterRegistry {
  let registry = registries.get(rt);
  if (!registry) {
    const created = new WaiterRegistry({
      sql: rt.sql,
      listener: () => rt.listener(),
      log: rt.log.child({ component: 'waiters' }),
      maxWaiters: rt.config.maxWaiters,
      onCountChange: (n) => rt.metrics.waitersInFlight.set(n),
    });
    rt.onShutdown(() => created.stop());
    registries.set(rt, (registry = created));
  }
  return registry;
}
