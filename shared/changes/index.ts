import { CHANNELS, commandKey, type PgListener, type Sql } from '../db/index.js';
import type { Command, CommandRef } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { readCommandsNewerThan, type NewerCommands } from '../store/index.js';

/**
 * In a cex_command NOTIFY, the mark in front of the key of a command just
 * created ('+' is in no endpoint id or command type).
 */
export const CREATED_MARK = '+';

/**
 * A changed command's key may carry the row itself, after a tab, as JSON
 * (changeHint): the watchers of the key are told the row without reading it
 * again, which spares the wake-up of a sync waiter a statement and a round
 * trip. Rows whose JSON has more bytes than this go as a bare key (a NOTIFY
 * payload holds 8,000 bytes; several hints share one).
 */
const MAX_ROW_IN_HINT = 3_000;
const DATE_FIELDS = ['createdAt', 'updatedAt', 'expiresAt', 'lastPushedAt', 'fetchedAt'] as const;

/** The cex_command NOTIFY line for a changed command: its key, with the row when it is small. */
export function changeHint(command: Command): string {
  const key = commandKey(command);
  const json = JSON.stringify(command);
  return Buffer.byteLength(json) <= MAX_ROW_IN_HINT ? `${key}\t${json}` : key;
}

/** The row a change hint carried, or undefined when it carried none or cannot be read. */
function rowOfHint(json: string): Command | undefined {
  try {
    const row = JSON.parse(json) as Record<string, unknown>;
    for (const field of DATE_FIELDS) if (typeof row[field] === 'string') row[field] = new Date(row[field]);
    return typeof row.version === 'number' && typeof row.status === 'string' ? (row as unknown as Command) : undefined;
  } catch {
    return undefined;
  }
}

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
  /**
   * Each observer with the newest row version it was told: an older or
   * equal row (a read that lands late, the NOTIFY of a change this process
   * already told: tellLocal) is not told again.
   */
  observers: Map<CommandObserver, number>;
}

/**
 * Taken before a command is created, handed to watchCommand after: it
 * collects the change hints of the (endpoint, type) that arrive meanwhile,
 * so the watch knows whether the brand-new command may have changed before
 * it existed. See ChangeFeed.expect.
 */
export interface Expectation {
  readonly prefix: string;
  readonly seen: Set<string>;
  readonly epoch: number;
  readonly listening: boolean;
}

/** How many re-reads may be in flight at once (each reads every key marked before it began). */
const MAX_CONCURRENT_READS = 4;

/**
 * The change feed of one process: the one LISTEN on the command channel, a
 * re-read of every watched command after each listener reconnect and on a
 * safety tick, and a coalesced re-read of the keys a NOTIFY named. Sync
 * waiters (shared/waiters) and SSE streams (shared/streams) both watch
 * commands here, so a command watched by both, or by many, is read once per
 * flush. Every key marked in one turn of the event loop is read in one
 * statement; a few reads may overlap (see flush). Started and stopped by the
 * process's composition root (shared/roots), never on first use.
 */
export class ChangeFeed {
  private readonly watches = new Map<string, Watch>();
  private readonly subscribers = new Set<ChangeSubscriber>();
  private readonly dirty = new Set<string>();
  private readonly expecting = new Map<string, Set<Expectation>>();
  private listening: Promise<void> | undefined;
  private listeningNow = false;
  // Bumped by every listener reconnect: NOTIFYs may have been lost before it.
  private epoch = 0;
  private tick: NodeJS.Timeout | undefined;
  private scheduled = false;
  private reading = 0;
  private stopped = false;

  constructor(private readonly options: ChangeFeedOptions) {}

  /** LISTEN and the safety tick; resolves once LISTEN is in force (the listener retries for ever). */
  start(): Promise<void> {
    if (!this.listening) {
      const { listener } = this.options;
      listener.onReconnect(() => this.reconnected());
      this.listening = listener
        .listen(CHANNELS.command, (payload) => this.onNotify(payload))
        .then(() => {
          this.listeningNow = true;
        });
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
   * Call before creating a command that will be watched (a sync invoke):
   * the change hints of `endpointId/commandType/*` arriving until the watch
   * starts are kept, so watchCommand can skip the first re-read of a command
   * it knows was PENDING at creation when nothing can have changed it since.
   * That saves one statement per sync invoke. Release it with forget() when
   * no watch follows.
   */
  expect(endpointId: string, commandType: string): Expectation {
    const expectation: Expectation = {
      prefix: `${endpointId}/${commandType}/`,
      seen: new Set(),
      epoch: this.epoch,
      listening: this.listeningNow,
    };
    let set = this.expecting.get(expectation.prefix);
    if (!set) this.expecting.set(expectation.prefix, (set = new Set()));
    set.add(expectation);
    return expectation;
  }

  /** Drops an expectation no watch will use (the create failed or answered at once). */
  forget(expectation: Expectation): void {
    const set = this.expecting.get(expectation.prefix);
    if (set?.delete(expectation) && set.size === 0) this.expecting.delete(expectation.prefix);
  }

  /**
   * Tells `observer` the command's row after each re-read of its key. The
   * first read comes at once (the change may have happened before the watch
   * existed), unless `created` proves it unnecessary: an expectation taken
   * before the command was created (PENDING), while LISTEN was in force, with
   * no reconnect and no change hint of this key since. Returns the unwatch.
   */
  watchCommand(ref: CommandRef, observer: CommandObserver, created?: Expectation): () => void {
    const key = commandKey(ref);
    let watch = this.watches.get(key);
    if (!watch) this.watches.set(key, (watch = { ref, observers: new Map() }));
    if (created) this.forget(created);
    const unchanged = created && created.listening && created.epoch === this.epoch && !created.seen.has(key);
    // A command known unchanged since its create: the watcher knows that row's
    // version, so re-reads (the safety tick) skip it until it changes.
    watch.observers.set(observer, unchanged && typeof (ref as Partial<Command>).version === 'number' ? (ref as Command).version : -1);
    if (!unchanged) this.mark(key);
    return () => {
      const current = this.watches.get(key);
      if (current?.observers.delete(observer) && current.observers.size === 0) this.watches.delete(key);
    };
  }

  subscribe(subscriber: ChangeSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /**
   * A NOTIFY on the command channel: keys of changed commands, and of
   * created ones with a `+` in front (CREATED_MARK). A creation changes no
   * watched command (a watch starts after its create returned), so it wakes
   * only the subscribers (endpoint streams list new commands).
   */
  private onNotify(payload: string): void {
    const keys = payload.split('\n');
    let plain = keys;
    for (let i = 0; i < keys.length; i++) {
      let key = keys[i]!;
      if (key.startsWith(CREATED_MARK)) {
        if (plain === keys) plain = keys.slice();
        plain[i] = key.slice(1);
        continue;
      }
      const tab = key.indexOf('\t');
      let row: Command | undefined;
      if (tab >= 0) {
        if (plain === keys) plain = keys.slice();
        const json = key.slice(tab + 1);
        plain[i] = key = key.slice(0, tab);
        if (this.watches.has(key)) row = rowOfHint(json);
      }
      if (row && commandKey(row) === key) this.tell(key, row);
      else if (this.watches.has(key)) this.mark(key);
      if (this.expecting.size > 0) {
        for (const e of this.expecting.get(key.slice(0, key.lastIndexOf('/') + 1)) ?? []) e.seen.add(key);
      }
    }
    for (const s of this.subscribers) s.onKeys?.(plain);
  }

  private reconnected(): void {
    this.epoch++;
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
    if (this.scheduled || this.reading >= MAX_CONCURRENT_READS || this.dirty.size === 0 || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Reads every key marked so far in one statement. Up to
   * MAX_CONCURRENT_READS reads overlap, so keys marked while one is in
   * flight (10,000 waiters woken by a stream of results) wait for a free
   * slot, not for the slowest read; a key marked again during its read is
   * read again by a later one, and the version check keeps an older row
   * that lands last from being told.
   */
  private flush(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const keys = [...this.dirty].filter((k) => this.watches.has(k));
    this.dirty.clear();
    if (keys.length === 0) return;
    this.reading++;
    void this.read(keys).finally(() => {
      this.reading--;
      this.schedule();
    });
  }

  private async read(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // Each key with the oldest version one of its observers was told: only
    // newer rows (and deleted commands) come back, and the rest has nothing
    // to tell anyone (tell() skips a version an observer already has).
    const refs = keys.map((k) => {
      const watch = this.watches.get(k)!;
      let known = Infinity;
      for (const told of watch.observers.values()) known = Math.min(known, told);
      const { endpointId, commandType, commandId } = watch.ref;
      return { endpointId, commandType, commandId, known: Number.isFinite(known) ? known : -1 };
    });
    let newer: NewerCommands;
    try {
      newer = await readCommandsNewerThan(this.options.sql, refs);
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
    for (const command of newer.rows) this.tell(commandKey(command), command);
    for (const index of newer.gone) this.tell(keys[index]!, undefined);
  }

  /**
   * Rows this process just wrote (a result recorded here): their watchers
   * here are told at once, without waiting for the NOTIFY's round trip and
   * delivery. The NOTIFY still goes out for other instances; when it comes
   * back here it tells nobody twice (see Watch).
   */
  tellLocal(commands: readonly Command[]): void {
    for (const command of commands) this.tell(commandKey(command), command);
  }

  /** Tells the watchers of `key` its row (undefined: gone), unless they were told this version or a newer one. */
  private tell(key: string, command: Command | undefined): void {
    const watch = this.watches.get(key);
    if (!watch) return;
    for (const [observer, told] of [...watch.observers]) {
      if (command) {
        if (command.version <= told) continue;
        if (watch.observers.has(observer)) watch.observers.set(observer, command.version);
      }
      try {
        observer(command);
      } catch (err) {
        this.options.log.error({ err, key }, 'change observer failed');
      }
    }
  }
}
