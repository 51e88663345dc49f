import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '@nats-io/transport-node';
import postgres from 'postgres';
import { HttpClient } from './lib/http.js';
import { backgroundStatementRate, statementCount, statementsPer } from './cex.js';
import { nowMs, runConcurrently, Samples } from './lib/stats.js';

/**
 * The one-process ideal: the same invoke → push → endpoint → result → reply
 * loop as CEX, in one process with only node:http, postgres.js and nats.js.
 * One transaction per step, NOTIFY after commit, the waiter woken by LISTEN;
 * no functions-framework, no bridge hop, no outbox. CEX's distributed shape
 * is held to these figures.
 */
export async function measureIdeal(databaseUrl: string, natsUrl: string, n: number, concurrency: number) {
  const sql = postgres(databaseUrl, { max: 20, onnotice: () => undefined });
  const listener = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  const nc = await connect({ servers: natsUrl, name: 'bench-ideal' });
  await sql`CREATE TABLE IF NOT EXISTS ideal_commands (
              id bigserial PRIMARY KEY, endpoint_id text NOT NULL, payload jsonb,
              status text NOT NULL DEFAULT 'PENDING', result jsonb, created_at timestamptz DEFAULT now())`;
  const waiters = new Map<string, (result: string) => void>();

  // Wake-up path: the result's UPDATE committed, then NOTIFY; read the row and answer.
  await listener.listen('ideal_done', async (id) => {
    const [row] = await sql<{ result: unknown }[]>`SELECT result FROM ideal_commands WHERE id = ${id}`;
    waiters.get(id)?.(JSON.stringify(row?.result ?? null));
    waiters.delete(id);
  });

  // The endpoint's result arrives over NATS: one transaction, NOTIFY after it.
  nc.subscribe('ideal.result', {
    callback: (_err, msg) => {
      const { id, result } = JSON.parse(new TextDecoder().decode(msg.data)) as { id: string; result: unknown };
      void (async () => {
        await sql`UPDATE ideal_commands SET status = 'EXECUTED', result = ${JSON.stringify(result)}::text::jsonb
                   WHERE id = ${id} AND status = 'PENDING'`;
        await sql`SELECT pg_notify('ideal_done', ${id})`;
      })();
    },
  });

  // The simulated endpoint: executes each push at once and sends its result.
  nc.subscribe('ideal.push', {
    callback: (_err, msg) => {
      const { id, payload } = JSON.parse(new TextDecoder().decode(msg.data)) as { id: string; payload: unknown };
      nc.publish('ideal.result', JSON.stringify({ id, result: payload }));
    },
  });

  // Invoke: store the command (one transaction), push it, wait for the wake-up.
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const endpointId = req.url!.split('/')[2]!;
      const [row] = await sql<{ id: string }[]>`
        INSERT INTO ideal_commands (endpoint_id, payload) VALUES (${endpointId}, ${Buffer.concat(chunks).toString() || 'null'}::text::jsonb)
        RETURNING id::text`;
      const done = new Promise<string>((resolve) => waiters.set(row!.id, resolve));
      nc.publish('ideal.push', JSON.stringify({ id: row!.id, endpointId, payload: { n: 1 } }));
      const result = await done;
      res.writeHead(200, { 'content-type': 'application/json' }).end(result);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const client = new HttpClient(concurrency);
  const call = async (i: number): Promise<void> => {
    await client.request('POST', `${url}/invoke/ep-${i % concurrency}`, '{"n":1}');
  };
  await runConcurrently(4, 100, call);
  const one = new Samples();
  const background = await backgroundStatementRate(sql);
  const before = await statementCount(sql);
  for (let i = 0; i < n; i++) await one.time(() => call(i));
  const after = await statementCount(sql);
  const many = new Samples();
  const total = n * 4;
  const started = nowMs();
  await runConcurrently(concurrency, total, (i) => many.time(() => call(i)));
  const perSecond = Math.round(total / ((nowMs() - started) / 1000));

  client.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await nc.drain();
  await Promise.all([sql.end(), listener.end()]);
  return {
    sync1: { ...one.summary(), statementsPerCommand: statementsPer(n, before, after, background) },
    syncConcurrent: { ...many.summary(), perSecond, concurrency },
  };
}
