import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sql } from '../shared/db/index.js';
import { measureSync, type SyncFigures } from './cex.js';
import { startBenchHost } from './lib/host.js';
import { progress } from './lib/stats.js';

export interface TracingCost {
  concurrency: number;
  /** Sync invokes/s with tracing off and on, the mean of the rounds of each. */
  offPerSecond: number;
  onPerSecond: number;
  /** on / off: 1.0 costs nothing, 0.8 is a 20 % drop. */
  ratio: number;
  off: SyncFigures[];
  on: SyncFigures[];
  /** What the local receiver got while tracing was on. */
  exports: number;
  exportedKiB: number;
}

/**
 * What tracing costs a sync invoke at `concurrency`: the dev host with
 * tracing off (no OTEL_* set), then on (100 % sampled, OTLP/HTTP protobuf
 * to a receiver in this process that takes and drops every export, as a
 * collector on the same machine would), alternated over `rounds` rounds
 * so that drift of a shared machine falls on both. Each run starts a host
 * of its own under its own instance names.
 */
export async function measureTracingCost(
  base: { databaseUrl: string; natsUrl: string; sql: Sql; cex: string; kpc: string },
  concurrency: number,
  total: number,
  rounds = 2,
): Promise<TracingCost> {
  const sink = await startSpanSink();
  const off: SyncFigures[] = [];
  const on: SyncFigures[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const traced of [false, true]) {
        progress(`tracing cost: round ${round + 1}/${rounds}, tracing ${traced ? 'on' : 'off'}`);
        const names = { cex: `${base.cex}-t${round}${traced ? 'on' : 'off'}`, kpc: `${base.kpc}-t${round}${traced ? 'on' : 'off'}` };
        const host = await startBenchHost({
          DATABASE_URL: base.databaseUrl,
          NATS_URL: base.natsUrl,
          CEX_INSTANCE_NAME: names.cex,
          KPC_INSTANCE_NAME: names.kpc,
          ...(traced ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on' } : {}),
        });
        try {
          const figures = await measureSync({ host, sql: base.sql, natsUrl: base.natsUrl, ...names }, concurrency, total);
          (traced ? on : off).push(figures);
        } finally {
          await host.stop();
        }
      }
    }
  } finally {
    await sink.close();
  }
  const mean = (runs: SyncFigures[]) => Math.round(runs.reduce((sum, r) => sum + r.perSecond, 0) / runs.length);
  const offPerSecond = mean(off);
  const onPerSecond = mean(on);
  return {
    concurrency,
    offPerSecond,
    onPerSecond,
    ratio: offPerSecond > 0 ? Math.round((onPerSecond / offPerSecond) * 100) / 100 : 0,
    off,
    on,
    exports: sink.exports(),
    exportedKiB: Math.round(sink.bytes() / 1024),
  };
}

/** An OTLP/HTTP endpoint that reads every export and answers 200, keeping nothing. */
async function startSpanSink(): Promise<{ url: string; exports(): number; bytes(): number; close(): Promise<void> }> {
  let exports = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    bytes: () => bytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
