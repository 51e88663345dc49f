import { CHANNELS, commandKey, type PgListener, type Sql } from '../db/index.js';
import type { Command, CommandRef } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { readCommandsByKey } from '../store/index.js';

/** Told the command's row after a re-read: undefined when it is gone. */
export type CommandObserver = (command: Command | undefined) => void;

/** A subscriber that reads for itself (the endpoint streams: their reads need a snapshot). */
export interface ChangeSubscriber {
  /** The command keys one NOTIFY named (`endpointId/commandType/commandId`). */
  onKeys?(keys: readonly string[]): void;
  /** After every listener reconnect: a NOTIFY may have been missed, re-read everything. */
  onReconnect?(): void;
  /** On every safety tick. */
  onTick?(now: number): void;
}

export interface ChangeFeedOptions {
  sql: Sql;
  /** The process's one LISTEN connection (shared/db/listener.ts); the feed subscribes, it does not own it. */
  listener: PgListener;
  log: Logger;
  /** The slow safety re-read of every watched command (ms). NOTIFY is a hint; this is the guarantee. */
  safetyTickMs?: number;
  /** After a failed re-read, the keys are read again this much later (ms). */
  retryAfterFailureMs?: number;
}

interface Watch {
  ref: CommandRef;
  observers: Set<CommandObserver>;
}

/**
 * The change feed of one process: the one LISTEN on the command channel, a
 * re-read of every watched command after each listener reconnect and on a
 * safety tick, and a coalesced re-read of the keys a NOTIFY named. Sync
 * waiters (shared/waiters) and SSE streams (shared/streams) both watch
 * commands here, so a command watched by both, or by many, is read once per
 * flush. Every key marked in one turn of the event loop is read in one
 * statement; flushes never overlap (a key marked during one is read by the
 * next, right after it). Started and stopped by the process's composition
 * root (shared/roots), never on first use.
 */
export class ChangeFeed {
  private readonly watches = new Map<string, Watch>();
  private readonly subscribers = new Set<ChangeSubscriber>();
  private readonly dirty = new Set<string>();
  private listening: Promise<void> | undefined;
  private tick: NodeJS.Timeout | undefined;
  private scheduled = false;
  private flushing = false;
  private stopped = false;

  constructor(private readonly options: ChangeFeedOptions) {}

  /** LISTEN and the safety tick; resolves once LISTEN is in force (the listener retries for ever). */
  start(): Promise<void> {
    if (!this.listening) {
      const { listener } = this.options;
      listener.onReconnect(() => this.reconnected());
      this.listening = listener.listen(CHANNELS.command, (payload) => this.onNotify(payload)).then(() => undefined);
      this.tick = setInterval(() => this.onTick(), this.options.safetyTickMs ?? 1_000);
      this.tick.unref();
    }
    return this.listening;
  }

  /** Resolves once LISTEN is in force: a read made after it cannot miss a change. */
  whenListening(): Promise<void> {
    if (!this.listening) throw new Error('the change feed was not started (its composition root starts it)');
    return this.listening;
  }

  stop(): void {
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
  }

  /** Number of distinct commands watched. */
  get watchedKeys(): number {
    return this.watches.size;
  }

  /**
   * Tells `observer` the command's row after each re-read of its key, the
   * first right away (the change may have happened before the watch existed).
   * Returns the unwatch.
   */
  watchCommand(ref: CommandRef, observer: CommandObserver): () => void {
    const key = commandKey(ref);
    let watch = this.watches.get(key);
    if (!watch) this.watches.set(key, (watch = { ref, observers: new Set() }));
    watch.observers.add(observer);
    this.mark(key);
    return () => {
      const current = this.watches.get(key);
      if (current?.observers.delete(observer) && current.observers.size === 0) this.watches.delete(key);
    };
  }

  subscribe(subscriber: ChangeSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  private onNotify(payload: string): void {
    const keys = payload.split('\n');
    for (const key of keys) if (this.watches.has(key)) this.mark(key);
    for (const s of this.subscribers) s.onKeys?.(keys);
  }

  private reconnected(): void {
    this.markAll();
    for (const s of this.subscribers) s.onReconnect?.();
  }

  private onTick(): void {
    this.markAll();
    const now = Date.now();
    for (const s of this.subscribers) s.onTick?.(now);
  }

  private markAll(): void {
    for (const key of this.watches.keys()) this.dirty.add(key);
    this.schedule();
  }

  private mark(key: string): void {
    this.dirty.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.dirty.size === 0) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    try {
      while (this.dirty.size > 0 && !this.stopped) {
        const keys = [...this.dirty].filter((k) => this.watches.has(k));
        this.dirty.clear();
        await this.read(keys);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async read(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    let rows: Command[];
    try {
      rows = await readCommandsByKey(
        this.options.sql,
        keys.map((k) => this.watches.get(k)!.ref),
      );
    } catch (err) {
      // Read again soon; a waiter that times out meanwhile answers 202, a stream just waits.
      this.options.log.warn({ err: (err as Error).message, keys: keys.length }, 'change feed re-read failed; retrying');
      setTimeout(() => {
        if (this.stopped) return;
        for (const k of keys) this.dirty.add(k);
        this.schedule();
      }, this.options.retryAfterFailureMs ?? 1_000).unref();
      return;
    }
    const found = new Map(rows.map((c) => [commandKey(c), c]));
    for (const key of keys) {
      const command = found.get(key);
      for (const observer of [...(this.watches.get(key)?.observers ?? [])]) {
        try {
          observer(command);
        } catch (err) {
          this.options.log.error({ err, key }, 'change observer failed');
        }
      }
    }
  }
}
