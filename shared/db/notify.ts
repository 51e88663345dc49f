import type { Sql } from './pool.js';

/**
 * NOTIFY channels. Payloads carry keys only; a listener re-reads the rows
 * (docs/architecture.md). NOTIFY is always sent after the writing transaction committed,
 * in its own statement: inside the transaction it would serialize every such
 * commit behind one database-wide lock (docs/architecture.md: measured 1,301/s vs 2,503/s).
 */
export const CHANNELS = {
  /** A command was created or changed (result, expiry, delete): payload = command keys, newline-separated. */
  command: 'cex_command',
  /** New outbox rows are due: payload = whose work (OUTBOX_WORK, comma-separated; empty: anyone's). */
  outbox: 'cex_outbox',
  /** Tekton configuration or tenant data changed: payload = what changed. */
  config: 'cex_config',
} as const;

/**
 * Who an outbox NOTIFY wakes: the bridge's drainer (push and cip_result
 * rows) or the callback deliverer (callback rows). A result with no
 * callbackUrl wakes only the drainer, so the deliverer does not run a claim
 * that finds nothing on every command. An empty payload wakes both.
 */
export const OUTBOX_WORK = { bridge: 'bridge', callbacks: 'callbacks' } as const;
export type OutboxWork = keyof typeof OUTBOX_WORK;

/** Whether an outbox NOTIFY's payload is work for `who`. */
export function outboxHintFor(payload: string, who: OutboxWork): boolean {
  return payload === '' || payload.split(',').includes(OUTBOX_WORK[who]);
}

export interface CommandRef {
  endpointId: string;
  commandType: string;
  commandId: number;
}

// '/' cannot appear in an endpoint id or a command type (their regexes exclude it).
export function commandKey(ref: CommandRef): string {
  return `${ref.endpointId}/${ref.commandType}/${ref.commandId}`;
}

export function parseCommandKey(key: string): CommandRef | undefined {
  const parts = key.split('/');
  if (parts.length !== 3) return undefined;
  const commandId = Number(parts[2]);
  if (!parts[0] || !parts[1] || !Number.isInteger(commandId)) return undefined;
  return { endpointId: parts[0], commandType: parts[1], commandId };
}

// Postgres caps a NOTIFY payload at 8000 bytes; keys are split across several.
const MAX_PAYLOAD = 7900;

/**
 * Sends `keys` on `channel` in as few NOTIFYs as fit, after the caller's commit.
 * A failure is swallowed: the listeners' safety tick re-reads anyway.
 */
export async function notify(sql: Sql, channel: string, keys: readonly string[] = ['']): Promise<void> {
  await notifyAll(sql, [{ channel, keys }]);
}

/** One channel's share of a notifyAll: its keys (none: one empty payload). */
export interface Notification {
  channel: string;
  keys?: readonly string[];
}

/**
 * Sends several channels' hints in ONE statement (one short transaction, so
 * one turn of the NOTIFY queue lock instead of one per channel): a create
 * tells the outbox drainer and the live streams at the cost of one round trip.
 */
export async function notifyAll(sql: Sql, notifications: readonly Notification[]): Promise<void> {
  const channels: string[] = [];
  const payloads: string[] = [];
  for (const { channel, keys = [''] } of notifications) {
    for (const payload of pack(keys.length ? keys : [''])) {
      channels.push(channel);
      payloads.push(payload);
    }
  }
  if (channels.length === 0) return;
  try {
    await sql`SELECT pg_notify(c, p) FROM unnest(${channels}::text[], ${payloads}::text[]) AS n(c, p)`;
  } catch {
    // The hint is lost; the safety tick and catch-up scans make up for it.
  }
}

// Bytes, not characters: a key may carry a row (shared/changes) with non-ASCII text.
function pack(keys: readonly string[]): string[] {
  const payloads: string[] = [];
  let current = '';
  let bytes = 0;
  for (const key of keys) {
    const size = Buffer.byteLength(key);
    if (current && bytes + size + 1 > MAX_PAYLOAD) {
      payloads.push(current);
      current = '';
      bytes = 0;
    }
    bytes += current ? size + 1 : size;
    current = current ? `${current}\n${key}` : key;
  }
  payloads.push(current);
  return payloads;
}

/**
 * Sends NOTIFY hints as group commit sends WAL: one statement in flight; the
 * hints of every write that finishes meanwhile wait for it, then go together
 * in the next one. An idle process sends at once (c=1 pays nothing); under
 * load many writes share a statement, a round trip and a turn of the NOTIFY
 * queue lock. Hints are merged per channel: command keys are concatenated,
 * outbox work names united. A statement that has not answered within
 * `stallMs` stops holding the queue (its callers are released: the hint is
 * best-effort, the listeners' ticks catch up), so a connection wedged by a
 * failover cannot hold every writer of the process.
 */
export class NotifyBatcher {
  private queued: { notifications: readonly Notification[]; done: () => void }[] = [];
  private busy = false;

  constructor(
    private readonly sql: Sql,
    private readonly stallMs = 5_000,
  ) {}

  /** Resolves once a statement carrying these hints has answered (or stalled). */
  send(notifications: readonly Notification[]): Promise<void> {
    if (notifications.length === 0) return Promise.resolve();
    return new Promise((done) => {
      this.queued.push({ notifications, done });
      if (!this.busy) this.next();
    });
  }

  private next(): void {
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    this.busy = true;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(stall);
      for (const { done } of batch) done();
      this.busy = false;
      this.next();
    };
    const stall = setTimeout(release, this.stallMs);
    void notifyAll(this.sql, mergeNotifications(batch.flatMap((b) => b.notifications))).finally(release);
  }
}

// Outbox work names are comma-separated in one payload (outboxHintFor); an
// empty payload means everyone's work and absorbs the rest.
const OUTBOX_CHANNEL: string = CHANNELS.outbox;

/** One Notification per channel: keys concatenated, outbox work names united. */
export function mergeNotifications(notifications: readonly Notification[]): Notification[] {
  const byChannel = new Map<string, string[]>();
  for (const { channel, keys = [''] } of notifications) {
    const list = byChannel.get(channel);
    if (list) list.push(...keys);
    else byChannel.set(channel, [...keys]);
  }
  return [...byChannel].map(([channel, keys]) => {
    if (channel !== OUTBOX_CHANNEL) return { channel, keys };
    if (keys.includes('')) return { channel, keys: [''] };
    return { channel, keys: [[...new Set(keys.flatMap((k) => k.split(',')))].join(',')] };
  });
}
