import type { CommandDescriptor } from '../domain/index.js';
import { ApiError, NetworkError, readEvents, type Api } from './client.js';

/** How following a stream ended. */
export type FollowEnd = 'final' | 'deleted' | 'timeout' | 'interrupted';

export interface FollowOptions {
  api: Api;
  /** The events path (…/events), API-relative or absolute. */
  path: string;
  /** Stop waiting at this time (epoch ms); undefined: never. */
  deadline: number | undefined;
  /** Aborted by Ctrl-C. */
  signal: AbortSignal;
  onEvent(descriptor: CommandDescriptor): void;
}

// After the server ended the stream without a final state (restart, ingress
// timeout) or the network broke: reconnect with Last-Event-ID after this long.
const RECONNECT_MS = 1_000;

/**
 * Follows a live status stream, reconnecting with Last-Event-ID whenever it
 * drops, so no state is missed or shown twice. For one command it ends with
 * the final state (or `deleted`); for an endpoint only at the deadline or on
 * Ctrl-C. A 404 (or other refusal) on connecting is thrown as ApiError.
 */
export async function follow(o: FollowOptions): Promise<FollowEnd> {
  let lastId: string | undefined;
  for (;;) {
    if (o.signal.aborted) return 'interrupted';
    if (o.deadline !== undefined && Date.now() >= o.deadline) return 'timeout';
    const stop = new AbortController();
    const timer = o.deadline === undefined ? undefined : setTimeout(() => stop.abort(), Math.max(0, o.deadline - Date.now()));
    const onAbort = () => stop.abort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const events = readEvents(o.api, o.path, lastId, stop.signal);
      for (;;) {
        const next = await events.next();
        if (next.done) {
          // 204: the final state was seen before this (re)connect.
          if (next.value === 'done') return 'final';
          break;
        }
        const ev = next.value;
        if (ev.id !== undefined) lastId = ev.id;
        if (ev.event === 'deleted') return 'deleted';
        if (ev.event !== 'status') continue;
        const descriptor = JSON.parse(ev.data) as CommandDescriptor;
        o.onEvent(descriptor);
        if (descriptor.status !== 'PENDING' && o.path.match(/\/commands\/[^/]+\/\d+\/events$/)) return 'final';
      }
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (!(err instanceof NetworkError)) throw err;
    } finally {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
    }
    if (o.signal.aborted) return 'interrupted';
    await new Promise((r) => setTimeout(r, RECONNECT_MS));
  }
}
