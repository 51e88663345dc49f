/**
 * Every Postgres connection of the dev host (pool and LISTEN) cut with
 * pg_terminate_backend, again and again, under async and sync load: requests
 * in flight get 503 or succeed, nothing is half-written (a pending command
 * always has its push queued or done), the listener comes back and re-reads,
 * and sync waiters still wake afterwards, with the LISTEN connection back.
 * 12/CIP callers and result callbacks run through the cuts too: every CIP
 * command gets its result, every callback a 2xx, repeats within the bound.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testNatsUrl, uniquePrefix } from '../helpers/nats.js';
import { CexProcess, faultEnv, faultNames, simulate } from './cluster.js';
import { percentile, startLoad } from './load.js';
import { Progress } from './progress.js';
import { startCallbackReceiver } from './callbacks.js';
import { startCipLoad } from './cip.js';
import { figuresOf, firstAcceptAfter, mustBeZero, report, waitUntilExecuted, ZERO } from './verify.js';
import { reportResults, resultChecks, RESULTS_OK, settleResults } from './verify-results.js';

const ASYNC = 1_500;
const SYNC = 300;
const CUTS = 8;
const CUT_EVERY_MS = 700;
const CIP_COMMANDS = 300;

let db: TestDatabase | undefined;
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await db?.drop();
});

/**
 * Pending commands with no push queued and none done: what a write that
 * stored the command but not its outbox row would leave. Must never exist.
 */
const orphans = (d: TestDatabase) => d.sql<{ n: number }[]>`
  SELECT count(*)::int AS n FROM commands c
   WHERE c.status = 'PENDING' AND c.push_count = 0
     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'push' AND o.endpoint_id = c.endpoint_id AND o.command_type = c.command_type)`;

describe('Postgres connections cut under load', () => {
  it('answers 503 or succeeds, half-writes nothing, and the listener and waiters recover', async () => {
    db = await createTestDatabase();
    const d = db;
    const names = faultNames();
    const runId = uniquePrefix('run');
    const host = await CexProcess.start('dev host', faultEnv(d, testNatsUrl(), names, { CEX_DB_POOL_MAX: '8' }));
    stops.push(() => host.stop());
    const sim = await simulate(testNatsUrl(), names, 100);
    stops.push(() => sim.stop());
    const progress = new Progress(d.sql, runId).start();
    stops.push(async () => progress.stop());

    let orphanSamples = 0;
    let orphansSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        orphansSeen += (await orphans(d).catch(() => [{ n: 0 }]))[0]!.n;
        orphanSamples++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const callbacks = await startCallbackReceiver();
    stops.push(() => callbacks.receiver.close());
    const common = { urls: () => [host.url], endpointIds: sim.endpointIds, commandType: 'reboot', runId, callbackUrl: callbacks.urlOf };
    const asyncLoad = startLoad({ ...common, count: ASYNC, concurrency: 16, awaitTimeout: 0 });
    const syncLoad = startLoad({ ...common, from: ASYNC, count: SYNC, concurrency: 32, awaitTimeout: 10 });
    // Spread over the async load, so the cuts find CIP commands at every stage.
    const cip = await startCipLoad({
      natsUrl: testNatsUrl(),
      cex: names.cex,
      endpointIds: sim.endpointIds,
      count: CIP_COMMANDS,
      concurrency: 8,
      runId: `${runId}-cip`,
      paceBy: (n) => asyncLoad.accepted() >= (n * ASYNC) / CIP_COMMANDS,
    });
    stops.push(() => cip.close());
    // Should the host die, say why at once (the loads would otherwise retry until they give up).
    const deathWatch = setInterval(() => {
      if (host.alive) return;
      clearInterval(deathWatch);
      console.log(`[fault] the dev host died:\n${host.output().split('\n').slice(-40).join('\n')}`);
    }, 1_000);
    stops.push(async () => clearInterval(deathWatch));
    while (asyncLoad.accepted() < 200) await new Promise((r) => setTimeout(r, 20));

    // The dev host's connections only: application_name cex-dev-host (pool) and cex-dev-host-listener.
    const cuts: { startedAt: number; at: number; terminated: number }[] = [];
    for (let i = 0; i < CUTS; i++) {
      const startedAt = Date.now();
      const rows = await d.sql<{ pg_terminate_backend: boolean }[]>`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = ${d.name} AND application_name LIKE 'cex-dev-host%' AND pid <> pg_backend_pid()`;
      cuts.push({ startedAt, at: Date.now(), terminated: rows.filter((r) => r.pg_terminate_backend).length });
      // Cuts paced CUT_EVERY_MS apart: the scenario's parameter, not a wait for anything.
      await new Promise((r) => setTimeout(r, CUT_EVERY_MS));
    }
    const lastCut = cuts.at(-1)!.at;
    const [asyncOutcomes, syncOutcomes] = await Promise.all([asyncLoad.done, syncLoad.done]);
    const settleMs = await waitUntilExecuted(d.sql, runId, ASYNC + SYNC, 60_000);
    const results = await settleResults(
      d.sql,
      cip,
      `${runId}-cip`,
      [sim],
      callbacks.receiver,
      [...asyncOutcomes, ...syncOutcomes],
      callbacks.urlOf,
    );
    sampling = false;
    await sampler;

    // After the cuts: the listener is back (a LISTEN backend of the host), and sync waiters still wake.
    const after = await startLoad({ ...common, from: ASYNC + SYNC, count: 60, concurrency: 10, awaitTimeout: 10 }).done;
    const metrics = await (await fetch(`${host.url}/metrics`)).text();
    const reconnects = Number(/^cex_listener_reconnects_total (\d+)/m.exec(metrics)?.[1] ?? 0);

    const outcomes = [...asyncOutcomes, ...syncOutcomes];
    const f = await figuresOf(d.sql, runId, [...outcomes, ...after], [sim]);
    // A 503 whose command was stored anyway (its commit went through, the answer did not):
    // harmless with an Idempotency-Key, which is why clients should send one.
    const created = new Map(
      (
        await d.sql<{ endpointId: string; commandId: number; at: Date }[]>`
      SELECT endpoint_id AS "endpointId", command_id AS "commandId", created_at AS at FROM commands
       WHERE request_payload->>'run' = ${runId}`
      ).map((r) => [`${r.endpointId}/${r.commandId}`, r.at.getTime()]),
    );
    const stored503 = outcomes.filter(
      (o) => o.first503At !== undefined && (created.get(`${o.endpointId}/${o.commandId}`) ?? Infinity) < o.first503At,
    );
    const afterMs = after.filter((o) => o.status === 200).map((o) => o.latencyMs);
    const recovery: Record<string, number | undefined> = {
      'max cut → first command accepted': Math.max(...cuts.map((c) => firstAcceptAfter(outcomes, c.at) ?? Number.NaN)),
      'last cut → executions resumed': progress.resumedAfter(lastCut),
      'load end → all executed': settleMs,
    };
    report(
      `pg_terminate_backend of every CEX connection ${CUTS}x, ${CUT_EVERY_MS} ms apart, under ${ASYNC} async + ${SYNC} sync invokes`,
      f,
      recovery,
      {
        'connections terminated': cuts.map((c) => c.terminated).join('+'),
        '503 answers (retried with the same Idempotency-Key)': outcomes.reduce((s, o) => s + o.unavailable, 0),
        '503 answers whose command was stored anyway': stored503.length,
        'sync 200/202 during the cuts': `${syncOutcomes.filter((o) => o.status === 200).length}/${syncOutcomes.filter((o) => o.status === 202).length}`,
        'listener reconnects': reconnects,
        'orphan samples (pending, no push queued or done)': `${orphansSeen} in ${orphanSamples}`,
        'sync after the cuts: 200 of 60, p50 ms': `${afterMs.length}, ${Math.round(percentile(afterMs, 50))}`,
      },
    );
    reportResults(results.cip, results.callbacks, CUTS);

    // Every answer was 200, 202 or 503: no 500, no dropped connection (the host stayed up).
    expect(outcomes.flatMap((o) => o.unexpected)).toEqual([]);
    expect(outcomes.reduce((s, o) => s + o.networkErrors, 0)).toBe(0);
    expect(host.alive).toBe(true);
    expect(f.accepted).toBe(ASYNC + SYNC + after.length);
    expect(mustBeZero(f)).toEqual(ZERO);
    expect(orphansSeen).toBe(0);
    expect(settleMs).not.toBeNaN();
    expect(cuts.every((c) => c.terminated > 0)).toBe(true);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(afterMs.length).toBe(after.length);
    // The listener's connection was opened again after the last cut. Its last
    // statement is its LISTEN, or the keep-alive SELECT 1 it sends every 15 s
    // (so a check of LISTEN alone depended on how long the scenario ran).
    const listening = await d.sql<{ query: string }[]>`SELECT query FROM pg_stat_activity
      WHERE datname = ${d.name} AND application_name = 'cex-dev-host-listener'
        AND backend_start >= to_timestamp(${cuts.at(-1)!.startedAt / 1000})`;
    expect(listening.length).toBeGreaterThanOrEqual(1);
    expect(listening.every((l) => /^LISTEN |^SELECT 1$/i.test(l.query))).toBe(true);
    expect(resultChecks(results.cip, results.callbacks, CUTS)).toEqual(RESULTS_OK);
  });
});
