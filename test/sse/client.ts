/**
 * A minimal server-sent events client for tests, on node:http (one socket
 * per stream, nothing pooled), that records every event and comment.
 */
import http from 'node:http';

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  /** Comment lines seen (heartbeats). */
  comments: number;
  /** Resolves when the server ends the stream (or close() is called). */
  ended: Promise<void>;
  /** Resolves once `count` events have arrived (fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Disconnects (the client going away). */
  close(): void;
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      let current: { event: string; id: string | undefined; data: string[] } = { event: 'message', id: undefined, data: [] };
      let endResolve!: () => void;
      const waiters: (() => void)[] = [];
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: 0,
        ended: new Promise<void>((r) => (endResolve = r)),
        waitFor(count, timeoutMs = 10_000) {
          return new Promise((ok, fail) => {
            const check = () => {
              if (stream.events.length >= count) return (ok(stream.events.slice(0, count)), true);
              return false;
            };
            if (check()) return;
            const timer = setTimeout(
              () => fail(new Error(`only ${stream.events.length} of ${count} events within ${timeoutMs} ms`)),
              timeoutMs,
            );
            waiters.push(() => {
              if (check()) clearTimeout(timer);
            });
          });
        },
        close() {
          req.destroy();
          endResolve();
        },
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 1);
          if (line === '') {
            if (current.data.length > 0) stream.events.push({ event: current.event, id: current.id, data: current.data.join('\n') });
            current = { event: 'message', id: undefined, data: [] };
            for (const w of [...waiters]) w();
          } else if (line.startsWith(':')) stream.comments++;
          else {
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') current.event = value;
            else if (field === 'id') current.id = value;
            else if (field === 'data') current.data.push(value);
          }
        }
      });
      res.on('end', () => endResolve());
      res.on('close', () => endResolve());
      res.on('error', () => endResolve());
      resolve(stream);
    });
    req.on('error', reject);
  });
}

/** The descriptor in an event's data. */
export function descriptor(e: SseEvent): {
  endpointId: string;
  commandType: string;
  commandId: number;
  status: string;
  statusCode: number | null;
} {
  return JSON.parse(e.data) as never;
}
