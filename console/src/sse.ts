import { authHeaders, problemOf, type ApiProblem } from './api.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StreamHandlers {
  /** Each event: its type (`status`, `deleted`), data and id. */
  onEvent(event: string, data: string, id: string): void;
  onState(state: StreamState, problem?: ApiProblem): void;
  /** Each time the server answered 200: the stream is in force from here on. */
  onOpen?(resumed: boolean): void;
}

// What EventSource does by default; the server's `retry:` line overrides it.
const DEFAULT_RETRY_MS = 2_000;

/**
 * A server-sent events reader on fetch, because EventSource cannot send an
 * Authorization header (and the token must not go into the URL). Like
 * EventSource it reconnects after a drop with the last event id in
 * Last-Event-ID, so the server resumes exactly after it: nothing is lost or
 * repeated however long the connection was down. A 401 ends the session
 * (sign in again); another 4xx stops with its problem; a 5xx is retried.
 */
export function followStream(url: string, handlers: StreamHandlers): { close(): void } {
  const abort = new AbortController();
  let lastId = '';
  let retryMs = DEFAULT_RETRY_MS;

  async function connectOnce(): Promise<'retry' | 'stop'> {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
    if (lastId) headers['last-event-id'] = lastId;
    const res = await fetch(url, { headers, signal: abort.signal, cache: 'no-store' });
    if (res.status === 204) return 'stop';
    if (res.status !== 200 || !res.body) {
      const problem = problemOf(res.status, await res.json().catch(() => null));
      if (res.status >= 500) {
        handlers.onState('reconnecting', problem);
        return 'retry';
      }
      handlers.onState('stopped', problem);
      return 'stop';
    }
    handlers.onState('live');
    handlers.onOpen?.(lastId !== '');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = { type: '', data: [] as string[], id: '' };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'retry';
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (event.data.length > 0) {
            if (event.id) lastId = event.id;
            handlers.onEvent(event.type || 'message', event.data.join('\n'), event.id);
          }
          event = { type: '', data: [], id: '' };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') event.type = val;
        else if (name === 'data') event.data.push(val);
        else if (name === 'id') event.id = val;
        else if (name === 'retry' && /^\d+$/.test(val)) retryMs = Number(val);
      }
    }
  }

  void (async () => {
    handlers.onState('connecting');
    while (!abort.signal.aborted) {
      let next: 'retry' | 'stop';
      try {
        next = await connectOnce();
      } catch {
        next = 'retry';
      }
      if (abort.signal.aborted || next === 'stop') return;
      handlers.onState('reconnecting');
      await new Promise((r) => setTimeout(r, retryMs));
    }
  })();

  return { close: () => abort.abort() };
}
