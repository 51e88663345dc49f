import net, { type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of the dev host, so a test can drop the browser's
 * connections for real (the event stream included) and hold new ones off,
 * as a network outage or a proxy restart would. It keeps the head of every
 * request it forwarded, to show what the browser sent on reconnect.
 */
export interface CutProxy {
  url: string;
  /** Request heads (request line and headers) seen, oldest first. */
  heads: string[];
  /** Destroys every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCutProxy(target: { host: string; port: number }): Promise<CutProxy> {
  const sockets = new Set<Socket>();
  const heads: string[] = [];
  let down = false;
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      // Requests on a keep-alive connection follow one another: record each head.
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        // A body before it (a POST's JSON) is not part of the head.
        const head = /[A-Z]+ \S+ HTTP\/1\.[01]\r\n[\s\S]*$/.exec(pending.slice(0, end));
        if (head) heads.push(head[0]);
        pending = pending.slice(end + 4);
      }
      if (pending.length > 65536) pending = '';
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('end', () => upstream.end());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
