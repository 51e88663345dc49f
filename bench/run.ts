import { randomBytes } from 'node:crypto';
import { FUNCTION_TARGETS, loadConfig } from '../shared/config/index.js';
import { recordEndpointResults } from '../shared/commands/index.js';
import { buildServices } from '../shared/roots/services.js';
import { measureAsync, measureHistory, measureSync, measureWaiters, measureWake, type CexTarget } from './cex.js';
import { MAIN_JS, measureColdStartDetail } from './cold-start.js';
import { measureFloors } from './floors.js';
import { measureIdeal } from './ideal.js';
import { benchEnv } from './lib/env.js';
import { startBenchHost } from './lib/host.js';
import { progress, progressDone } from './lib/stats.js';
import { measurePeer } from './peer.js';
import { printReport, writeReport, type Report } from './report.js';
import { measureBatch } from './batch.js';
import { measureBridgePaths } from './bridge.js';
import { measureTracingCost } from './tracing.js';

/**
 * `make bench`: CEX's speed and scale against floors measured in the same run
 * (quick by default; BENCH=full for longer runs and bigger samples).
 */
const FULL = process.env.BENCH === 'full';
// BENCH=smoke: tiny sizes, to check that every measurement still runs.
const SMOKE = process.env.BENCH === 'smoke';
const SETTINGS = SMOKE
  ? {
      mode: 'smoke',
      floorSamples: 50,
      ceilingMs: 500,
      sync1: 20,
      sync64: 200,
      asyncConcurrency: 8,
      asyncMs: 1000,
      waiters: 200,
      wake: 20,
      bridgeSamples: 20,
      historyRows: 20_000,
      historyPages: 5,
      batchEndpoints: 500,
    }
  : {
      mode: FULL ? 'full' : 'quick',
      floorSamples: FULL ? 3000 : 500,
      ceilingMs: FULL ? 10_000 : 3000,
      sync1: FULL ? 2000 : 300,
      sync64: FULL ? 20_000 : 3000,
      asyncConcurrency: 64,
      asyncMs: FULL ? 30_000 : 8000,
      waiters: 10_000,
      wake: FULL ? 1000 : 200,
      bridgeSamples: FULL ? 1000 : 200,
      historyRows: 1_000_000,
      // A p99 of 100 samples is the second-worst one; 500 make it the fifth.
      historyPages: FULL ? 2000 : 500,
      batchEndpoints: 10_000,
    };

async function main(): Promise<void> {
  const started = Date.now();
  progress('starting Postgres and NATS');
  const env = await benchEnv();
  const cex = `cex-bench-${randomBytes(3).toString('hex')}`;
  const kpc = `kpc-bench-${randomBytes(3).toString('hex')}`;
  const report: Partial<Report> = { settings: SETTINGS, sources: { postgres: env.postgresSource, nats: env.natsSource } };
  try {
    progress('floors: NATS round trip, Postgres commit, NOTIFY wake-up, insert ceiling, HTTP hop');
    report.floors = await measureFloors(env.databaseUrl, env.natsUrl, SETTINGS.floorSamples, SETTINGS.ceilingMs);

    progress('cold start of each function target');
    // A unit that takes internal requests does not start without its credential.
    const coldEnv = {
      DATABASE_URL: env.databaseUrl,
      NATS_URL: env.natsUrl,
      CEX_AUTH: 'off',
      CEX_INSTANCE_NAME: `${cex}-cold`,
      CEX_INTERNAL_TOKEN: randomBytes(32).toString('hex'),
    };
    report.coldStartMs = {};
    report.coldStartCpuMs = {};
    report.coldStartMainMs = {};
    // Each target's bundle, as the image starts it, then the unbundled
    // dist/functions/main.js for comparison (the bundles' reason to be).
    for (const target of FUNCTION_TARGETS.filter((t) => t !== 'migrate')) {
      const bundled = await measureColdStartDetail(target, coldEnv);
      report.coldStartMs[target] = Math.round(bundled.readyMs);
      if (bundled.cpuMs !== undefined) report.coldStartCpuMs[target] = bundled.cpuMs;
      report.coldStartMainMs[target] = Math.round((await measureColdStartDetail(target, coldEnv, { entry: MAIN_JS })).readyMs);
    }

    progress('starting CEX (dev host: every unit plus the bridge)');
    const host = await startBenchHost({
      DATABASE_URL: env.databaseUrl,
      NATS_URL: env.natsUrl,
      CEX_INSTANCE_NAME: cex,
      KPC_INSTANCE_NAME: kpc,
    });
    const target: CexTarget = { host, sql: env.sql, natsUrl: env.natsUrl, cex, kpc };
    try {
      progress('sync invoke round trip, concurrency 1');
      report.sync1 = await measureSync(target, 1, SETTINGS.sync1);
      progress('sync invoke round trip, concurrency 64');
      report.sync64 = await measureSync(target, 64, SETTINGS.sync64);
      progress('bridge paths: push after commit, 4/ESP poll round trip');
      report.bridge = await measureBridgePaths(target, SETTINGS.bridgeSamples);
      progress('async throughput');
      report.async = await measureAsync(target, SETTINGS.asyncConcurrency, SETTINGS.asyncMs);
      progress('batch creation');
      report.batch = await measureBatch(target, SETTINGS.batchEndpoints);
      const recorder = buildServices(
        loadConfig({ DATABASE_URL: env.databaseUrl, CEX_AUTH: 'off', CEX_LOG_LEVEL: 'warn' }),
        'bench-recorder',
      );
      const record = async (endpointId: string, commandId: number) => {
        await recordEndpointResults(recorder, endpointId, 'reboot', [{ commandId, statusCode: 200, payload: 'done' }], null);
      };
      // History before the 10,000 waiters: their aftermath (a heap of a few
      // hundred MiB being collected, 10,000 sockets closing) fell on the
      // keyset walk that followed them (p50 3.0 ms there, 1.3 ms on a settled host).
      report.history = await measureHistory(target, SETTINGS.historyRows, SETTINGS.historyPages);
      progress('waiter wake-up after a result recorded elsewhere');
      report.wake = await measureWake(target, SETTINGS.wake, record);
      progress('10,000 waiters');
      report.waiters = await measureWaiters(target, SETTINGS.waiters, record);
      await recorder.shutdown();
    } finally {
      await host.stop();
    }

    // Hosts of its own, off and on alternately: the cost of tracing at c=64.
    report.tracing = await measureTracingCost({ ...env, cex, kpc }, 64, SETTINGS.sync64);

    progress('the one-process ideal');
    report.ideal = await measureIdeal(env.databaseUrl, env.natsUrl, SETTINGS.sync1, 64);
    progress('peer: graphile-worker');
    report.peer = await measurePeer(env.databaseUrl, SETTINGS.asyncConcurrency, SETTINGS.asyncMs);
  } finally {
    await env.close();
  }
  report.durationSeconds = Math.round((Date.now() - started) / 1000);
  progressDone();
  const full = report as Report;
  printReport(full);
  const file = await writeReport(full);
  process.stdout.write(`\nresults written to ${file}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    progressDone();
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
