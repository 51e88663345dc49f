import { execFile } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// postgres.js sends its own array-types query as a new connection's first
// statement and drops that query's promise. A connection cut under it (the
// pooler or Postgres gone right after connecting) left an unhandled
// rejection, which ends a plain Node process: the CI run of 2026-12-02 saw it
// in test/rest/readiness.test.ts. shared/db/patch-postgres.mjs catches it.
// The scenario runs in a child Node process so that Node's own default
// (an unhandled rejection is fatal) is the judge, not vitest's handler.

/**
 * A TCP proxy to Postgres that, on the first connection only, cuts both sides
 * the moment the client sends the array-types query, then stops listening
 * (reconnects are refused) until `reopen()`.
 */
async function startCuttingProxy(target: { host: string; port: number }) {
  let cut = false;
  const sockets = new Set<net.Socket>();
  const onConnection = (client: net.Socket) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('data', (chunk) => {
      if (!cut && chunk.includes('pg_catalog.pg_type')) {
        cut = true;
        server.close();
        for (const s of sockets) s.destroy();
        return;
      }
      upstream.write(chunk);
    });
  };
  let server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get cut() {
      return cut;
    },
    reopen: async () => {
      server = net.createServer(onConnection);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// The child connects through the proxy, sees its first query fail, waits
// until the parent has reopened the proxy, then reads an int[] (parsed only
// if the array types were fetched on the new connection).
const CHILD = `
import postgres from 'postgres';
const sql = postgres(process.env.URL, { max: 1, connect_timeout: 1, idle_timeout: 0 });
const first = await sql\`select 1 as one\`.then(() => 'ok', (err) => err.code ?? err.message);
process.stdout.write('first:' + first + '\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
const [row] = await sql\`select array[1, 2]::int[] as a\`;
process.stdout.write('array:' + JSON.stringify(row.a) + '\\n');
await sql.end({ timeout: 1 });
`;

describe('a connection cut during postgres.js fetch_types', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('fails only the waiting query, leaves no unhandled rejection, and fetches the types on the next connection', async () => {
    const url = new URL(db.url);
    const proxy = await startCuttingProxy({ host: url.hostname, port: Number(url.port || 5432) });
    try {
      url.host = `127.0.0.1:${proxy.port}`;
      const child = execFile(process.execPath, ['--input-type=module', '-e', CHILD], {
        cwd: process.cwd(),
        env: { ...process.env, URL: url.toString() },
        timeout: 30_000,
      });
      let out = '';
      let err = '';
      let reopened = false;
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (!reopened && out.includes('first:')) void ((reopened = true), proxy).reopen().then(() => child.stdin!.end('go\n'));
      });
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(proxy.cut).toBe(true);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toMatch(/^first:(?!ok)\S+$/m);
      expect(out).toContain('array:[1,2]');
    } finally {
      await proxy.close();
    }
  }, 40_000);
});
