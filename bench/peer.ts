import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import postgres from 'postgres';
import { nowMs, Samples } from './lib/stats.js';

/**
 * The peer, side by side: graphile-worker (a Postgres job queue with
 * LISTEN/NOTIFY wake-ups) on the same Postgres in the same run, running the
 * async workload as a job per command whose task records a result. What it
 * does per job is what CEX does per command minus the push and the endpoint.
 */
export async function measurePeer(databaseUrl: string, concurrency: number, ms: number) {
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => undefined });
  await sql`CREATE TABLE IF NOT EXISTS peer_results (job_key text PRIMARY KEY, result jsonb, done_at timestamptz DEFAULT now())`;
  // Pools we own and end ourselves: graphile-worker's own could outlive the
  // run and crash the bench when its database is dropped. Two of them, as
  // graphile-worker sizes them itself: one for the 64 adders, one for the
  // 16 workers (on one shared pool the adders starved the workers: 5x fewer jobs done).
  const addPool = new pg.Pool({ connectionString: databaseUrl, max: 16 });
  const workPool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  for (const pool of [addPool, workPool]) pool.on('error', () => undefined);
  const utils = await makeWorkerUtils({ pgPool: addPool });
  await utils.migrate();
  const latency = new Samples();
  let done = 0;
  const runner = await run({
    pgPool: workPool,
    concurrency: 16,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: silentLogger(),
    taskList: {
      // The no-op command: record its result, as an endpoint's result is recorded.
      record: async (payload, helpers) => {
        const { key, addedAt } = payload as { key: string; addedAt: number };
        await helpers.query('INSERT INTO peer_results (job_key, result) VALUES ($1, $2) ON CONFLICT DO NOTHING', [key, '{"ok":true}']);
        latency.add(nowMs() - addedAt);
        done++;
      },
    },
  });
  let stop = false;
  let added = 0;
  const adders = Array.from({ length: concurrency }, async (_, loop) => {
    for (let i = 0; !stop; i++) {
      await utils.addJob('record', { key: `${loop}-${i}`, addedAt: nowMs() });
      added++;
    }
  });
  await new Promise((r) => setTimeout(r, ms / 4));
  const [d0, a0, t0] = [done, added, nowMs()];
  await new Promise((r) => setTimeout(r, ms));
  const [d1, a1, t1] = [done, added, nowMs()];
  stop = true;
  await Promise.all(adders);
  await runner.stop();
  await utils.release();
  await Promise.all([addPool.end(), workPool.end()]);
  await sql.end();
  const seconds = (t1 - t0) / 1000;
  return {
    addedPerSecond: Math.round((a1 - a0) / seconds),
    donePerSecond: Math.round((d1 - d0) / seconds),
    addToDone: latency.summary(),
  };
}

function silentLogger(): Logger {
  // The bench keeps its output to the table.
  return new Logger(() => () => undefined);
}
