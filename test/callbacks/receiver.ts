/**
 * A local HTTP endpoint standing in for a caller's callbackUrl: records every
 * request (headers, raw body, arrival time) and answers as the test says.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Answer = { status: number; location?: string; delayMs?: number };

export interface Receiver {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  deliveries: Delivery[];
  /** Decides each answer; default 200. `n` counts requests to that path, from 1. */
  answer: (path: string, n: number) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const counts = new Map<string, number>();
  const receiver: Receiver = { url: '', port: 0, deliveries: [], answer: () => ({ status: 200 }), close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      receiver.deliveries.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const a = receiver.answer(path, n);
      const reply = () => {
        if (res.destroyed) return;
        res.writeHead(a.status, a.location ? { location: a.location } : {}).end();
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
