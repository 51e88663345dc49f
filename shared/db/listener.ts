import postgres from 'postgres';
import type { Logger } from '../log/index.js';
import { quoteIdent, sleep } from './pool.js';

export type NotificationHandler = (payload: string) => void;
export type ReconnectHook = () => void | Promise<void>;

export interface ListenerOptions {
  applicationName: string;
  log: Logger;
  /** Called with the attempt count each time the connection is (re)established. */
  onConnected?: (reconnects: number) => void;
}

// Backoff between reconnect attempts: 100 ms doubling to 5 s, with jitter so
// that many instances restarting together do not reconnect in lockstep.
const BACKOFF_START_MS = 100;
const BACKOFF_CAP_MS = 5_000;
// A LISTEN connection that silently died (half-open TCP) is found by a ping.
const PING_INTERVAL_MS = 15_000;

/**
 * The ONE dedicated LISTEN connection of a process (docs/architecture.md). Handlers
 * subscribe to channels; after every (re)connect, reconnect hooks run so their
 * owners re-read what they are waiting for: a NOTIFY sent while the connection
 * was down is never seen, and NOTIFY is only ever a hint.
 *
 * postgres.js has `sql.listen`, but it drops a listener for good when the
 * re-LISTEN after a close fails (database still down); this class keeps
 * retrying forever instead.
 */
export class PgListener {
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly hooks = new Set<ReconnectHook>();
  private readonly sql: postgres.Sql;
  private state: 'idle' | 'connecting' | 'connected' | 'stopped' = 'idle';
  private connectedOnce: Promise<void> | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private reconnects = 0;

  constructor(
    url: string,
    private readonly options: ListenerOptions,
  ) {
    // `onnotify` is a postgres.js connection option its typings leave out.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- {} is postgres.js's own "no custom types"
    const connectionOptions: postgres.Options<{}> & { onnotify: (channel: string, payload: string) => void } = {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      connect_timeout: 10,
      fetch_types: false,
      prepare: false,
      connection: { application_name: options.applicationName },
      onnotice: () => undefined,
      onnotify: (channel, payload) => this.dispatch(channel, payload),
      onclose: () => this.onClose(),
    };
    this.sql = postgres(url, connectionOptions);
  }

  /** Number of (re)connects after the first; exported as a metric. */
  get reconnectCount(): number {
    return this.reconnects;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /**
   * Subscribes `handler` to `channel`. Resolves once the LISTEN is in force
   * (so a caller may register, then re-read, and miss nothing).
   */
  async listen(channel: string, handler: NotificationHandler): Promise<() => void> {
    let set = this.handlers.get(channel);
    const isNew = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    if (this.state === 'idle') {
      await this.start();
    } else if (isNew && this.state === 'connected') {
      await this.sql.unsafe(`LISTEN ${quoteIdent(channel)}`).catch(() => undefined);
    } else {
      await this.connectedOnce;
    }
    return () => {
      set.delete(handler);
    };
  }

  /** Registers a hook run after every (re)connect, once LISTEN is in force again. */
  onReconnect(hook: ReconnectHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** Connects (retrying forever) and resolves when LISTEN is in force. */
  start(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'connecting';
      this.connectedOnce = this.connectLoop();
      this.pingTimer = setInterval(() => this.ping(), PING_INTERVAL_MS).unref();
    }
    return this.connectedOnce ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.pingTimer) clearInterval(this.pingTimer);
    await this.sql.end({ timeout: 2 }).catch(() => undefined);
  }

  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  private dispatch(channel: string, payload: string): void {
    const set = this.handlers.get(channel);
    if (!set) return;
    for (const handler of set) {
      try {
        handler(payload);
      } catch (err) {
        this.options.log.error({ err, channel }, 'notification handler failed');
      }
    }
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.isStopped(); attempt++) {
      try {
        const channels = [...this.handlers.keys()];
        const statement = channels.length ? channels.map((c) => `LISTEN ${quoteIdent(c)}`).join('; ') : 'SELECT 1';
        await this.sql.unsafe(statement);
        // Channels subscribed while this attempt was in flight.
        const missed = [...this.handlers.keys()].filter((c) => !channels.includes(c));
        if (missed.length) await this.sql.unsafe(missed.map((c) => `LISTEN ${quoteIdent(c)}`).join('; '));
        if (this.isStopped()) return;
        this.state = 'connected';
        this.options.onConnected?.(this.reconnects);
        await this.runHooks();
        return;
      } catch (err) {
        if (this.isStopped()) return;
        const delay = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.options.log.warn({ err: (err as Error).message, attempt, delayMs: Math.round(delay) }, 'listener connect failed; retrying');
        await sleep(delay);
      }
    }
  }

  private async runHooks(): Promise<void> {
    for (const hook of this.hooks) {
      try {
        await hook();
      } catch (err) {
        this.options.log.error({ err }, 'listener reconnect hook failed');
      }
    }
  }

  private onClose(): void {
    if (this.state === 'stopped' || this.state === 'idle') return;
    if (this.state === 'connecting') return; // the connect loop is already retrying
    this.state = 'connecting';
    this.reconnects++;
    this.options.log.warn({ reconnects: this.reconnects }, 'listener connection closed; reconnecting');
    this.connectedOnce = this.connectLoop();
  }

  private ping(): void {
    if (this.state !== 'connected') return;
    // A failure closes the connection, and onClose reconnects.
    this.sql.unsafe('SELECT 1').catch(() => undefined);
  }
}
