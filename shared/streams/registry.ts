import { CHANNELS, commandKey, type PgListener, type Sql } from '../db/index.js';
import { isFinal, toDescriptor, type CommandRef } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { readCommandsByKey, readEndpointChanges, type EndpointCursor } from '../store/index.js';
import { completeAt, encodeEndpointCursor, eventCursors } from './cursor.js';
import type { EventSink } from './sse.js';

export interface StreamRegistryOptions {
  sql: Sql;
  listener: () => PgListener;
  log: Logger;
  /** The shared safety re-read of every stream (ms): NOTIFY is a hint, this the guarantee. */
  safetyTickMs?: number;
  /** Comment lines to every stream this often (ms). */
  heartbeatMs?: number;
  onCountChange?: (kind: 'command' | 'endpoint', count: number) => void;
}

interface CommandWatch {
  ref: CommandRef;
  key: string;
  tenantId: string;
  /** The version last sent (or the client's Last-Event-ID). */
  version: number;
  sink: EventSink;
}

interface EndpointWatch {
  sid: number;
  endpointId: string;
  tenantId: string;
  cursor: EndpointCursor;
  sink: EventSink;
}

// Streams re-read per statement in the shared tick; bounds one statement's size.
const ENDPOINT_READ_CHUNK = 500;
const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * Live status streams of one process, fed by the ONE LISTEN connection the
 * sync waiters use (a second handler on the same channel, no new
 * connection): a NOTIFY of a command key marks the streams of that command
 * and of its endpoint; everything marked in one turn of the event loop is
 * re-read in one statement per kind, and what changed is written out. A
 * slow tick marks every stream, as do listener reconnects, so a lost NOTIFY
 * delays an event and never loses it. Reads for streams are serialized, so
 * one stream never sees two reads racing. 1,000 streams cost their sockets,
 * one query per NOTIFY burst and two per tick, and no timer each.
 */
export class StreamRegistry {
  private readonly commands = new Map<string, Set<CommandWatch>>();
  private readonly endpoints = new Map<string, Set<EndpointWatch>>();
  private readonly dirtyKeys = new Set<string>();
  private readonly dirtyEndpoints = new Set<EndpointWatch>();
  private ready: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private flushing = false;
  private scheduled = false;
  private nextSid = 1;
  private counts = { command: 0, endpoint: 0 };
  private stopped = false;

  constructor(private readonly options: StreamRegistryOptions) {}

  get size(): { command: number; endpoint: number } {
    return { ...this.counts };
  }

  /** Streams one command's status after `afterVersion`; resolves when the stream ends. */
  async followCommand(ref: CommandRef, tenantId: string, afterVersion: number, sink: EventSink): Promise<void> {
    const watch: CommandWatch = { ref, key: commandKey(ref), tenantId, version: afterVersion, sink };
    await this.attach(sink, 'command', this.commands, watch.key, watch, () => this.mark(watch.key));
  }

  /** Streams an endpoint's status changes from `cursor` on; resolves when the stream ends. */
  async followEndpoint(endpointId: string, tenantId: string, cursor: EndpointCursor, sink: EventSink): Promise<void> {
    const watch: EndpointWatch = { sid: this.nextSid++, endpointId, tenantId, cursor, sink };
    await this.attach(sink, 'endpoint', this.endpoints, endpointId, watch, () => this.markEndpoint(watch));
  }

  /** Shutdown: ends every stream (clients reconnect elsewhere with Last-Event-ID). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const set of [...this.commands.values(), ...this.endpoints.values()]) for (const w of [...set]) w.sink.end();
  }

  private async attach<W extends { sink: EventSink }>(
    sink: EventSink, kind: 'command' | 'endpoint', map: Map<string, Set<W>>, key: string, watch: W, markNew: () => void,
  ): Promise<void> {
    await this.start();
    if (this.stopped) sink.end();
    if (sink.closed) return;
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(watch);
    this.count(kind, +1);
    const closed = new Promise<void>((resolve) =>
      sink.onClose(() => {
        const current = map.get(key);
        if (current?.delete(watch)) {
          if (current.size === 0) map.delete(key);
          this.count(kind, -1);
        }
        resolve();
      }),
    );
    // LISTEN is in force: the first read cannot miss a change made after it.
    markNew();
    await closed;
  }

  private start(): Promise<void> {
    if (!this.ready) {
      const listener = this.options.listener();
      listener.onReconnect(() => this.markAll());
      this.ready = listener.listen(CHANNELS.command, (payload) => this.onNotify(payload)).then(() => undefined);
      const tick = setInterval(() => this.markAll(), this.options.safetyTickMs ?? 5_000);
      const heartbeat = setInterval(() => this.heartbeat(), this.options.heartbeatMs ?? 15_000);
      tick.unref();
      heartbeat.unref();
      this.timers.push(tick, heartbeat);
    }
    return this.ready;
  }

  private onNotify(payload: string): void {
    for (const key of payload.split('\n')) {
      if (this.commands.has(key)) this.mark(key);
      const endpoint = this.endpoints.get(key.slice(0, key.indexOf('/')));
      if (endpoint) for (const w of endpoint) this.markEndpoint(w);
    }
  }

  private heartbeat(): void {
    for (const set of [...this.commands.values(), ...this.endpoints.values()]) for (const w of set) w.sink.heartbeat();
  }

  private markAll(): void {
    for (const key of this.commands.keys()) this.dirtyKeys.add(key);
    for (const set of this.endpoints.values()) for (const w of set) this.dirtyEndpoints.add(w);
    this.schedule();
  }

  private mark(key: string): void {
    this.dirtyKeys.add(key);
    this.schedule();
  }

  private markEndpoint(w: EndpointWatch): void {
    this.dirtyEndpoints.add(w);
    this.schedule();
  }

  // Coalesces every mark of one event-loop turn into one flush; a mark made
  // while a flush runs is picked up by another flush right after it.
  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    try {
      while (this.dirtyKeys.size > 0 || this.dirtyEndpoints.size > 0) {
        const keys = [...this.dirtyKeys].filter((k) => this.commands.has(k));
        const watches = [...this.dirtyEndpoints].filter((w) => !w.sink.closed);
        this.dirtyKeys.clear();
        this.dirtyEndpoints.clear();
        await Promise.all([this.readCommands(keys), this.readEndpoints(watches)]);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async readCommands(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const refs = keys.map((k) => [...this.commands.get(k)!][0]!.ref);
    let rows;
    try {
      rows = await readCommandsByKey(this.options.sql, refs);
    } catch (err) {
      return this.retryLater(err, () => keys.forEach((k) => this.dirtyKeys.add(k)));
    }
    const found = new Map(rows.map((c) => [commandKey(c), c]));
    for (const key of keys) {
      const command = found.get(key);
      for (const w of [...(this.commands.get(key) ?? [])]) {
        // Gone, or (after a DELETE) re-created by someone else: the stream's command no longer exists.
        if (!command || command.tenantId !== w.tenantId) {
          w.sink.send('deleted', String(w.version + 1), JSON.stringify(w.ref));
          w.sink.end();
          continue;
        }
        if (command.version > w.version) {
          w.version = command.version;
          w.sink.send('status', String(command.version), JSON.stringify(toDescriptor(command)));
        }
        if (isFinal(command.status)) w.sink.end();
      }
    }
  }

  private async readEndpoints(watches: EndpointWatch[]): Promise<void> {
    for (let i = 0; i < watches.length; i += ENDPOINT_READ_CHUNK) {
      const chunk = watches.slice(i, i + ENDPOINT_READ_CHUNK);
      let read;
      try {
        read = await readEndpointChanges(this.options.sql, chunk);
      } catch (err) {
        return this.retryLater(err, () => watches.slice(i).forEach((w) => this.dirtyEndpoints.add(w)));
      }
      const bySid = new Map<number, typeof read.changes>();
      for (const change of read.changes) {
        const list = bySid.get(change.sid) ?? [];
        list.push(change);
        bySid.set(change.sid, list);
      }
      for (const w of chunk) {
        const changes = bySid.get(w.sid) ?? [];
        const ids = eventCursors(w.cursor, read.snapshot, changes.map((c) => ({ part: c.part, commandType: c.command.commandType, commandId: c.command.commandId })));
        changes.forEach((c, n) => w.sink.send('status', encodeEndpointCursor(ids[n]!), JSON.stringify(toDescriptor(c.command))));
        w.cursor = completeAt(read.snapshot);
      }
    }
  }

  private retryLater(err: unknown, remark: () => void): void {
    this.options.log.warn({ err: (err as Error).message }, 'live stream re-read failed; retrying');
    setTimeout(() => {
      if (this.stopped) return;
      remark();
      this.schedule();
    }, RETRY_AFTER_FAILURE_MS).unref();
  }

  private count(kind: 'command' | 'endpoint', delta: number): void {
    this.counts[kind] += delta;
    this.options.onCountChange?.(kind, this.counts[kind]);
  }
}
