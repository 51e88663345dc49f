import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '@nats-io/transport-node';
import postgres from 'postgres';
import { loadConfig } from '../shared/config/index.js';
import { createPool } from '../shared/db/index.js';
import { CEX_VERSION } from '../shared/host/serve.js';
import { createHostHandler, createHostServer } from '../shared/host/server.js';
import { defineUnit } from '../shared/host/units.js';
import { sendJson } from '../shared/http/index.js';
import { buildServices } from '../shared/roots/services.js';
import { nowMs, round, runConcurrently, runFor, Samples } from './lib/stats.js';

/**
 * The floors every CEX figure is held against, measured in the same run on
 * the same machine: what NATS, Postgres and one HTTP hop cost at the least.
 */
export interface Floors {
  natsRoundTrip: { p50: number; p99: number; n: number };
  pgInsertCommit: { p50: number; p99: number; n: number };
  notifyWake: { p50: number; p99: number; n: number };
  pgInsertCeilingPerSecond: number;
  httpBare: { p50: number; requestsPerSecond: number };
  /** The same trivial route through CEX's own host dispatch (shared/host/server.ts), as every unit is served. */
  httpHost: { p50: number; requestsPerSecond: number };
}

export async function measureFloors(databaseUrl: string, natsUrl: string, n: number, ceilingMs: number): Promise<Floors> {
  return {
    natsRoundTrip: await natsRoundTrip(natsUrl, n),
    pgInsertCommit: await pgInsertCommit(databaseUrl, n),
    notifyWake: await notifyWake(databaseUrl, n),
    pgInsertCeilingPerSecond: await pgInsertCeiling(databaseUrl, ceilingMs),
    ...(await httpHops(databaseUrl, n)),
  };
}

async function natsRoundTrip(natsUrl: string, n: number) {
  const nc = await connect({ servers: natsUrl, name: 'bench-floor' });
  nc.subscribe('bench.floor.echo', {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
  const payload = new Uint8Array(200);
  for (let i = 0; i < 50; i++) await nc.request('bench.floor.echo', payload);
  const samples = new Samples();
  for (let i = 0; i < n; i++) await samples.time(() => nc.request('bench.floor.echo', payload, { timeout: 5000 }));
  await nc.close();
  return samples.summary();
}

// The commands table's shape without its indexes: the cost of one durable commit.
async function pgInsertCommit(databaseUrl: string, n: number) {
  const sql = createPool(databaseUrl, { max: 1, applicationName: 'bench-floor' });
  await sql`CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, payload jsonb, created_at timestamptz DEFAULT now())`;
  for (let i = 0; i < 50; i++) await sql`INSERT INTO bench_floor (payload) VALUES ('{"warm":1}')`;
  const samples = new Samples();
  for (let i = 0; i < n; i++) await samples.time(() => sql`INSERT INTO bench_floor (payload) VALUES (${'{"n":' + i + '}'}::text::jsonb)`);
  await sql.end();
  return samples.summary();
}

async function notifyWake(databaseUrl: string, n: number) {
  const listener = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  const sender = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  let wake: (() => void) | undefined;
  await listener.listen('bench_floor_wake', () => wake?.());
  const samples = new Samples();
  for (let i = 0; i < n + 20; i++) {
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const started = nowMs();
    await sender`SELECT pg_notify('bench_floor_wake', ${String(i)})`;
    await woken;
    if (i >= 20) samples.add(nowMs() - started);
  }
  await Promise.all([listener.end(), sender.end()]);
  return samples.summary();
}

/** Inserts per second with 64 concurrent writers on a pool of 16 (the shape of the measurement in docs/architecture.md). */
async function pgInsertCeiling(databaseUrl: string, ms: number): Promise<number> {
  const sql = createPool(databaseUrl, { max: 16, applicationName: 'bench-floor' });
  await runFor(64, 500, () => sql`INSERT INTO bench_floor (payload) VALUES ('{"warm":1}')`.then(() => undefined));
  const started = nowMs();
  const done = await runFor(64, ms, () => sql`INSERT INTO bench_floor (payload) VALUES ('{"x":1}')`.then(() => undefined));
  const perSecond = done / ((nowMs() - started) / 1000);
  await sql.end();
  return Math.round(perSecond);
}

/** One HTTP hop: a bare node:http server beside CEX's host serving the same trivial route. */
async function httpHops(databaseUrl: string, n: number) {
  const bare = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  // The route touches no database; the services' pool is never used.
  const services = buildServices(loadConfig({ DATABASE_URL: databaseUrl, CEX_AUTH: 'off', CEX_LOG_LEVEL: 'warn' }), 'bench-floor');
  const echo = defineUnit({
    name: 'bench-floor-echo',
    routes: [
      {
        unit: 'bench-floor-echo',
        method: 'GET',
        path: '/',
        operationId: 'echo',
        summary: 'echo',
        handle: async ({ res }) => sendJson(res, 200, { ok: true }),
      },
    ],
  });
  const host = createHostServer(services, createHostHandler(services, { units: [echo], devMode: false, version: CEX_VERSION }));
  const result = {
    httpBare: await measureServer(bare, n),
    httpHost: await measureServer(host, n),
  };
  await services.shutdown();
  return result;
}

async function measureServer(server: http.Server, n: number): Promise<{ p50: number; requestsPerSecond: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  for (let i = 0; i < 200; i++) await get();
  const samples = new Samples();
  for (let i = 0; i < n; i++) await samples.time(get);
  const started = nowMs();
  const count = n * 5;
  await runConcurrently(32, count, get);
  const requestsPerSecond = Math.round(count / ((nowMs() - started) / 1000));
  agent.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { p50: round(samples.percentile(50)), requestsPerSecond };
}
