import type { ServerResponse } from 'node:http';

/**
 * One server-sent event stream (text/event-stream). Writes never block: a
 * client that stops reading is cut off once its unread backlog passes
 * MAX_BUFFERED bytes (it reconnects with Last-Event-ID and misses nothing),
 * so one stalled client cannot make the process buffer without bound.
 */
export interface EventSink {
  /** Sends one event; false when the stream is closed (or was just cut off). */
  send(event: string, id: string, data: string): boolean;
  /** A comment line, so proxies and clients see the connection is alive. */
  heartbeat(): void;
  /** Ends the stream normally. */
  end(): void;
  readonly closed: boolean;
  /** Runs once when the stream closes, for any reason (client gone, end(), cut off). */
  onClose(listener: () => void): void;
}

const MAX_BUFFERED = 1024 * 1024;
// EventSource waits this long before reconnecting after the stream drops.
const RETRY_MS = 2_000;

/** Answers 200 text/event-stream on `res` and returns the sink to write events to. */
export function openEventStream(res: ServerResponse): EventSink {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // nginx and some ingresses buffer responses unless told not to.
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${RETRY_MS}\n\n`);
  let closed = false;
  const listeners: (() => void)[] = [];
  const close = () => {
    if (closed) return;
    closed = true;
    for (const l of listeners.splice(0)) l();
  };
  res.once('close', close);
  const write = (text: string): boolean => {
    if (closed) return false;
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      close();
      return false;
    }
    res.write(text);
    return true;
  };
  return {
    send: (event, id, data) => write(`id: ${id}\nevent: ${event}\ndata: ${data}\n\n`),
    heartbeat: () => void write(': heartbeat\n\n'),
    end: () => {
      if (!closed) res.end();
      close();
    },
    get closed() {
      return closed;
    },
    onClose: (listener) => {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
}
