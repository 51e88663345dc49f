import type { ChangeFeed, Expectation } from '../changes/index.js';
import type { Command, CommandRef } from '../domain/index.js';

/** How a wait ended. */
export type WaitOutcome =
  | { kind: 'final'; command: Command } // EXECUTED or EXPIRED
  | { kind: 'deleted' } // the command is gone: answer 404
  | { kind: 'timeout' } // awaitTimeout passed: answer 202
  | { kind: 'released' }; // client gone, or this instance shutting down

interface Waiter {
  resolve(outcome: WaitOutcome): void;
  timer: NodeJS.Timeout;
  unwatch: () => void;
}

export interface WaiterOptions {
  /** The process's change feed: it re-reads the commands waited for. */
  changes: ChangeFeed;
  /** Most waiters at once (CEX_MAX_WAITERS); default unlimited. */
  maxWaiters?: number;
  onCountChange?: (count: number) => void;
}

/**
 * Sync waiters of one process: waiting requests, each watching its command
 * on the process's change feed (shared/changes). A result recorded on any
 * instance NOTIFYs the command's key after its commit; the feed re-reads the
 * row once for every watcher of it, and the waiter answers when it is final
 * or gone. NOTIFY is only a hint: the feed also re-reads every watched row
 * after a listener reconnect and on its safety tick, so a crash between
 * commit and NOTIFY delays a wake-up by at most one tick and never loses it.
 * 10,000 waiters cost one connection, one timer each, and one query per tick.
 */
export class WaiterRegistry {
  private readonly waiters = new Set<Waiter>();
  private stopped = false;

  constructor(private readonly options: WaiterOptions) {}

  get size(): number {
    return this.waiters.size;
  }

  /**
   * False once CEX_MAX_WAITERS requests wait: invoke answers 503 before it
   * stores anything. Each waiter is a socket, a timer and a map entry, so the
   * cap bounds this process's memory and file descriptors under a flood.
   */
  hasRoom(): boolean {
    return this.waiters.size < (this.options.maxWaiters ?? Infinity);
  }

  /**
   * Waits until the command is final or deleted, `timeoutMs` passes, or
   * `signal` aborts (client disconnected). Never rejects. `created`: the
   * feed's expectation taken before the command was created PENDING (see
   * ChangeFeed.expect); it spares the first re-read when nothing changed.
   */
  async wait(ref: CommandRef, timeoutMs: number, signal?: AbortSignal, created?: Expectation): Promise<WaitOutcome> {
    const release = (): WaitOutcome => {
      if (created) this.options.changes.forget(created);
      return { kind: 'released' };
    };
    // After stop() (shutdown) nothing waits: the caller answers 202 at once.
    if (this.stopped) return release();
    await this.options.changes.whenListening();
    // Full after all (requests that passed hasRoom() together): the command is
    // stored, so the caller gets its 202 rather than an unbounded wait.
    if (signal?.aborted || this.stopped || !this.hasRoom()) return release();
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        timer: setTimeout(() => finish({ kind: 'timeout' }), timeoutMs),
        resolve: () => undefined,
        unwatch: () => undefined,
      };
      const onAbort = () => finish({ kind: 'released' });
      const finish = (outcome: WaitOutcome) => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        waiter.unwatch();
        if (this.remove(waiter)) resolve(outcome);
      };
      waiter.resolve = finish;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.add(waiter);
      // The first re-read comes at once (the result may predate the waiter),
      // unless `created` shows nothing can have changed the command yet.
      waiter.unwatch = this.options.changes.watchCommand(
        ref,
        (command) => {
          if (!command) finish({ kind: 'deleted' });
          else if (command.status !== 'PENDING') finish({ kind: 'final', command });
        },
        created,
      );
    });
  }

  /** Releases every waiter (shutdown): their requests answer 202 at once. */
  releaseAll(): void {
    for (const w of [...this.waiters]) w.resolve({ kind: 'released' });
  }

  stop(): void {
    this.stopped = true;
    this.releaseAll();
  }

  private add(w: Waiter): void {
    this.waiters.add(w);
    this.options.onCountChange?.(this.waiters.size);
  }

  private remove(w: Waiter): boolean {
    if (!this.waiters.delete(w)) return false;
    this.options.onCountChange?.(this.waiters.size);
    return true;
  }
}
