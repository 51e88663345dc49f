/**
 * A private nats-server restarted under load (async invokes plus sync
 * callers waiting), once at once and once after 3 s down: the bridge
 * reconnects by itself, nothing accepted is lost, and every sync caller gets
 * its result (200) or a 202. 12/CIP callers on the same server (they ask
 * again when a request or its result was dropped while the server was down)
 * get a result for every command, and every callback is delivered.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../../shared/devstack/index.js';
import { createLogger } from '../../shared/log/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniquePrefix } from '../helpers/nats.js';
import { CexProcess, faultEnv, faultNames, simulate } from './cluster.js';
import { percentile, startLoad } from './load.js';
import { Progress } from './progress.js';
import { startCallbackReceiver } from './callbacks.js';
import { startCipLoad } from './cip.js';
import { figuresOf, mustBeZero, report, waitUntilExecuted, ZERO } from './verify.js';
import { reportResults, resultChecks, RESULTS_OK, settleResults } from './verify-results.js';

const ASYNC = 1_500;
const SYNC = 400;
const CIP_COMMANDS = 300;
// Seconds each restart keeps the server down: an immediate restart, then an outage.
const DOWN_MS = [0, 3_000];

let nats: NatsServer | undefined;
let db: TestDatabase | undefined;
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await nats?.stop();
  await db?.drop();
});

/** Watches the host's readiness (NATS check) every 25 ms, recording when it changed. */
function watchNatsReadiness(host: CexProcess): { changes: { at: number; up: boolean }[]; up(): boolean; stop(): void } {
  const changes: { at: number; up: boolean }[] = [];
  let last = true;
  let running = true;
  void (async () => {
    while (running) {
      const up = await fetch(`${host.url}/readyz`)
        .then(async (r) => ((await r.json()) as { checks: { nats?: boolean } }).checks.nats === true)
        .catch(() => false);
      if (up !== last) changes.push({ at: Date.now(), up: (last = up) });
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return { changes, up: () => last, stop: () => void (running = false) };
}

describe('NATS restart under load', () => {
  it('the bridge reconnects by itself; nothing accepted is lost; sync callers get 200 or 202', async () => {
    nats = await startNatsServer({ log: createLogger('warn', 'test') });
    db = await createTestDatabase();
    const names = faultNames();
    const runId = uniquePrefix('run');
    const host = await CexProcess.start('dev host', faultEnv(db, nats.url, names));
    stops.push(() => host.stop());
    const sim = await simulate(nats.url, names, 100);
    stops.push(() => sim.stop());
    const progress = new Progress(db.sql, runId).start();
    stops.push(async () => progress.stop());

    const callbacks = await startCallbackReceiver();
    stops.push(() => callbacks.receiver.close());
    const common = { urls: () => [host.url], endpointIds: sim.endpointIds, commandType: 'reboot', runId, callbackUrl: callbacks.urlOf };
    const asyncLoad = startLoad({ ...common, count: ASYNC, concurrency: 16, awaitTimeout: 0 });
    const syncLoad = startLoad({ ...common, from: ASYNC, count: SYNC, concurrency: 48, awaitTimeout: 8 });
    // Spread over the async load, so each restart finds CIP commands at every stage.
    const cip = await startCipLoad({
      natsUrl: nats.url,
      cex: names.cex,
      endpointIds: sim.endpointIds,
      count: CIP_COMMANDS,
      concurrency: 8,
      runId: `${runId}-cip`,
      paceBy: (n) => asyncLoad.accepted() >= (n * ASYNC) / CIP_COMMANDS,
    });
    stops.push(() => cip.close());

    const readiness = watchNatsReadiness(host);
    stops.push(async () => readiness.stop());
    const outages: { at: number; upAt: number }[] = [];
    for (const [i, downMs] of DOWN_MS.entries()) {
      while (asyncLoad.accepted() < (ASYNC * (i + 1)) / (DOWN_MS.length + 1)) await new Promise((r) => setTimeout(r, 20));
      const at = Date.now();
      const port = nats.port;
      await nats.stop();
      // The outage itself: how long the server stays down is the scenario's parameter.
      await new Promise((r) => setTimeout(r, downMs));
      nats = await startNatsServer({ log: createLogger('warn', 'test'), port });
      outages.push({ at, upAt: Date.now() });
      // Ready again (an immediate restart may be over before readiness dips).
      while (!readiness.up()) {
        if (Date.now() - at > 30_000) throw new Error('the bridge did not reconnect within 30 s');
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const [asyncOutcomes, syncOutcomes] = await Promise.all([asyncLoad.done, syncLoad.done]);
    const outcomes = [...asyncOutcomes, ...syncOutcomes];
    const settleMs = await waitUntilExecuted(db.sql, runId, ASYNC + SYNC, 60_000);
    const results = await settleResults(db.sql, cip, `${runId}-cip`, [sim], callbacks.receiver, outcomes, callbacks.urlOf);

    const f = await figuresOf(db.sql, runId, outcomes, [sim]);
    const recovery: Record<string, number | undefined> = {};
    outages.forEach((o, i) => {
      const back = readiness.changes.find((c) => c.up && c.at > o.at)?.at ?? o.upAt;
      recovery[`#${i + 1} server down`] = o.upAt - o.at;
      recovery[`#${i + 1} server up → bridge ready`] = Math.max(0, back - o.upAt);
      recovery[`#${i + 1} stop → executions resumed`] = progress.resumedAfter(o.at, o.upAt);
    });
    recovery['load end → all executed'] = settleMs;
    const sync200 = syncOutcomes.filter((o) => o.status === 200);
    report(
      `nats-server stopped and started again ${DOWN_MS.length}x (down ${DOWN_MS.join(' and ')} ms) under ${ASYNC} async + ${SYNC} sync invokes`,
      f,
      recovery,
      {
        'sync callers answered 200': sync200.length,
        'sync callers answered 202': syncOutcomes.filter((o) => o.status === 202).length,
        'sync p50/p99 ms': `${Math.round(
          percentile(
            sync200.map((o) => o.latencyMs),
            50,
          ),
        )}/${Math.round(
          percentile(
            sync200.map((o) => o.latencyMs),
            99,
          ),
        )}`,
      },
    );
    reportResults(results.cip, results.callbacks, outages.length);

    // REST does not need NATS: no caller saw an error, and none was refused.
    expect(outcomes.flatMap((o) => o.unexpected)).toEqual([]);
    expect(outcomes.filter((o) => o.unavailable + o.networkErrors > 0)).toEqual([]);
    expect(syncOutcomes.every((o) => o.status === 200 || o.status === 202)).toBe(true);
    expect(f.accepted).toBe(ASYNC + SYNC);
    expect(mustBeZero(f)).toEqual(ZERO);
    expect(readiness.changes.filter((c) => !c.up).length).toBeGreaterThanOrEqual(1);
    expect(settleMs).not.toBeNaN();
    expect(host.alive).toBe(true);
    expect(resultChecks(results.cip, results.callbacks, outages.length)).toEqual(RESULTS_OK);
  });
});
