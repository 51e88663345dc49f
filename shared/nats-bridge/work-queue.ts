/** Limits of the inbound pipeline. */
export interface WorkQueueLimits {
  /** Forwards in flight at once. */
  maxInFlight: number;
  /** Messages waiting for a slot. */
  maxQueued: number;
  /** Bytes of the messages waiting for a slot. */
  maxQueuedBytes: number;
}

/**
 * 256 forwards in flight keeps a function fleet busy (each answers in a few
 * ms, so that is thousands of messages per second) while bounding sockets.
 * Past that, up to 10,000 messages / 64 MiB wait in memory (a burst of a few
 * seconds); past THAT, new messages are dropped and counted. Core NATS is
 * at-most-once anyway (the server itself drops for a slow consumer), and
 * what must not be lost never travels this way: pushes and CIP results go
 * through the outbox, and endpoints re-poll. Pausing the subscription
 * instead would only move the unbounded buffer into the NATS client.
 */
export const DEFAULT_WORK_QUEUE_LIMITS: WorkQueueLimits = { maxInFlight: 256, maxQueued: 10_000, maxQueuedBytes: 64 * 1024 * 1024 };

/**
 * A FIFO with bounded concurrency and a bounded backlog. `run` must not
 * throw (errors are the caller's to log); a throw is swallowed so one bad
 * item cannot stall the queue.
 */
export class WorkQueue<T> {
  private readonly waiting: { item: T; bytes: number }[] = [];
  private head = 0;
  private queuedBytes = 0;
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (item: T) => Promise<void>,
    private readonly limits: WorkQueueLimits,
  ) {}

  /** Adds an item; false when the backlog is full (the caller drops it). */
  push(item: T, bytes: number): boolean {
    if (this.active < this.limits.maxInFlight) {
      this.start(item);
      return true;
    }
    if (this.queued >= this.limits.maxQueued || this.queuedBytes + bytes > this.limits.maxQueuedBytes) return false;
    this.waiting.push({ item, bytes });
    this.queuedBytes += bytes;
    return true;
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(item: T): void {
    this.active++;
    void this.run(item)
      .catch(() => undefined)
      .finally(() => {
        this.active--;
        this.next();
      });
  }

  private next(): void {
    if (this.queued > 0 && this.active < this.limits.maxInFlight) {
      const entry = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as never;
      this.queuedBytes -= entry.bytes;
      // Compact now and then instead of shift(), which is O(n) per call.
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      this.start(entry.item);
      return;
    }
    if (this.active === 0 && this.queued === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
