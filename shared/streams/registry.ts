import type { ChangeFeed } from '../changes/index.js';
import type { Sql } from '../db/index.js';
import { isFinal, toDescriptor, type Command, type CommandRef } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { readEndpointChanges, type EndpointCursor } from '../store/index.js';
import { completeAt, encodeEndpointCursor, eventCursors } from './cursor.js';
import type { EventSink } from './sse.js';

export interface StreamRegistryOptions {
  /** The process's change feed: command streams watch their command there, endpoint streams subscribe to it. */
  changes: ChangeFeed;
  sql: Sql;
  log: Logger;
  /** The safety re-read of every endpoint stream (ms), on the feed's tick: NOTIFY is a hint, this the guarantee. */
  safetyTickMs?: number;
  /** Comment lines to every stream this often (ms). */
  heartbeatMs?: number;
  onCountChange?: (kind: 'command' | 'endpoint', count: number) => void;
}

interface CommandWatch {
  ref: CommandRef;
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

// Streams re-read per statement; bounds one statement's size.
const ENDPOINT_READ_CHUNK = 500;
const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * Live status streams of one process, fed by the process's change feed
 * (shared/changes), which the sync waiters share: a command stream watches
 * its command there (a command watched by a waiter too is read once); an
 * endpoint stream is marked by every NOTIFY naming one of the endpoint's
 * commands, and everything marked in one turn of the event loop is re-read
 * in one statement per chunk. A reconnect of the listener marks every
 * stream, as does the safety tick, so a lost NOTIFY delays an event and
 * never loses it. Endpoint reads are serialized, so one stream never sees
 * two reads racing. 1,000 streams cost their sockets, one query per NOTIFY
 * burst and two per tick, and no timer each.
 */
export class StreamRegistry {
  private readonly commands = new Set<CommandWatch>();
  private readonly endpoints = new Map<string, Set<EndpointWatch>>();
  private readonly dirtyEndpoints = new Set<EndpointWatch>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private lastSweep = Date.now();
  private flushing = false;
  private scheduled = false;
  private nextSid = 1;
  private counts = { command: 0, endpoint: 0 };
  private stopped = false;

  constructor(private readonly options: StreamRegistryOptions) {
    this.unsubscribe = options.changes.subscribe({
      onKeys: (keys) => this.onKeys(keys),
      onReconnect: () => this.markAllEndpoints(),
      onTick: (now) => {
        if (now - this.lastSweep < (this.options.safetyTickMs ?? 5_000)) return;
        this.lastSweep = now;
        this.markAllEndpoints();
      },
    });
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  get size(): { command: number; endpoint: number } {
    return { ...this.counts };
  }

  /** Streams one command's status after `afterVersion`; resolves when the stream ends. */
  async followCommand(ref: CommandRef, tenantId: string, afterVersion: number, sink: EventSink): Promise<void> {
    const watch: CommandWatch = { ref, tenantId, version: afterVersion, sink };
    await this.options.changes.whenListening();
    if (this.stopped) sink.end();
    if (sink.closed) return;
    this.commands.add(watch);
    this.count('command', +1);
    // The feed reads the row at once (LISTEN is in force: nothing after it is missed), then on every change.
    const unwatch = this.options.changes.watchCommand(ref, (command) => this.sendCommand(watch, command));
    await new Promise<void>((resolve) =>
      sink.onClose(() => {
        unwatch();
        if (this.commands.delete(watch)) this.count('command', -1);
        resolve();
      }),
    );
  }

  /** Streams an endpoint's status changes from `cursor` on; resolves when the stream ends. */
  async followEndpoint(endpointId: string, tenantId: string, cursor: EndpointCursor, sink: EventSink): Promise<void> {
    const watch: EndpointWatch = { sid: this.nextSid++, endpointId, tenantId, cursor, sink };
    await this.options.changes.whenListening();
    if (this.stopped) sink.end();
    if (sink.closed) return;
    let set = this.endpoints.get(endpointId);
    if (!set) this.endpoints.set(endpointId, (set = new Set()));
    set.add(watch);
    this.count('endpoint', +1);
    const closed = new Promise<void>((resolve) =>
      sink.onClose(() => {
        const current = this.endpoints.get(endpointId);
        if (current?.delete(watch)) {
          if (current.size === 0) this.endpoints.delete(endpointId);
          this.count('endpoint', -1);
        }
        resolve();
      }),
    );
    // LISTEN is in force: the first read cannot miss a change made after it.
    this.markEndpoint(watch);
    await closed;
  }

  /** Shutdown: ends every stream (clients reconnect elsewhere with Last-Event-ID). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const w of [...this.commands]) w.sink.end();
    for (const set of [...this.endpoints.values()]) for (const w of [...set]) w.sink.end();
  }

  private onKeys(keys: readonly string[]): void {
    for (const key of keys) {
      const endpoint = this.endpoints.get(key.slice(0, key.indexOf('/')));
      if (endpoint) for (const w of endpoint) this.markEndpoint(w);
    }
  }

  private beat(): void {
    for (const w of this.commands) w.sink.heartbeat();
    for (const set of this.endpoints.values()) for (const w of set) w.sink.heartbeat();
  }

  private markAllEndpoints(): void {
    for (const set of this.endpoints.values()) for (const w of set) this.dirtyEndpoints.add(w);
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
      while (this.dirtyEndpoints.size > 0) {
        const watches = [...this.dirtyEndpoints].filter((w) => !w.sink.closed);
        this.dirtyEndpoints.clear();
        await this.readEndpoints(watches);
      }
    } finally {
      this.flushing = false;
    }
  }

  private sendCommand(w: CommandWatch, command: Command | undefined): void {
    if (w.sink.closed) return;
    // Gone, or (after a DELETE) re-created by someone else: the stream's command no longer exists.
    if (!command || command.tenantId !== w.tenantId) {
      w.sink.send('deleted', String(w.version + 1), JSON.stringify(w.ref));
      w.sink.end();
      return;
    }
    if (command.version > w.version) {
      w.version = command.version;
      w.sink.send('status', String(command.version), JSON.stringify(toDescriptor(command)));
    }
    if (isFinal(command.status)) w.sink.end();
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
        const ids = eventCursors(
          w.cursor,
          read.snapshot,
          changes.map((c) => ({ part: c.part, commandType: c.command.commandType, commandId: c.command.commandId })),
        );
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
