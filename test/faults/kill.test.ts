/**
 * SIGKILL in the middle of 2,000 async commands: the whole dev host (twice),
 * then, in a split deployment, the bridge, command-submit and esp-inbound
 * (kept down 10 s, past the endpoints' result retries) one after the other.
 * Every command CEX accepted must end EXECUTED after the restart (the wait
 * gives up after a minute: a deadline, not a speed claim), stored once,
 * never delivered again after its result was accepted, with one result.
 * Beside the REST load, 12/CIP callers invoke over NATS and every fourth REST
 * command carries a callbackUrl: each CIP command gets its result message and
 * each callback is delivered, repeats within the bound of verify-results.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../shared/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testNatsUrl, uniquePrefix } from '../helpers/nats.js';
import { CexProcess, faultEnv, faultNames, simulate } from './cluster.js';
import { startLoad, type Load } from './load.js';
import { Progress } from './progress.js';
import { startCallbackReceiver, type CallbackReceiver } from './callbacks.js';
import { startCipLoad, type CipLoad } from './cip.js';
import { figuresOf, firstAcceptAfter, mustBeZero, report, waitUntilExecuted, ZERO } from './verify.js';
import { reportResults, resultChecks, RESULTS_OK, settleResults } from './verify-results.js';

const COMMANDS = 2_000;
const CIP_COMMANDS = 300;

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

async function setup(): Promise<{ db: TestDatabase; runId: string; progress: Progress }> {
  const db = await createTestDatabase();
  cleanup.push(() => db.drop());
  const runId = uniquePrefix('run');
  const progress = new Progress(db.sql, runId).start();
  cleanup.push(async () => progress.stop());
  return { db, runId, progress };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

/** Load of async invokes over the simulator's endpoints, against whatever `urls` returns; every fourth with a callback. */
function asyncLoad(sim: Simulator, runId: string, urls: () => string[], callbacks: CallbackReceiver): Load {
  return startLoad({
    urls,
    endpointIds: sim.endpointIds,
    commandType: 'reboot',
    count: COMMANDS,
    concurrency: 32,
    awaitTimeout: 0,
    runId,
    callbackUrl: callbacks.urlOf,
  });
}

/** The callback receiver, and CIP callers spread over the REST load (call n once REST accepted its share). */
async function resultLoads(
  sim: Simulator,
  cex: string,
  runId: string,
  load: () => Load | undefined,
): Promise<{ callbacks: CallbackReceiver; cip: CipLoad }> {
  const callbacks = await startCallbackReceiver();
  cleanup.push(() => callbacks.receiver.close());
  const cip = await startCipLoad({
    natsUrl: testNatsUrl(),
    cex,
    endpointIds: sim.endpointIds,
    count: CIP_COMMANDS,
    concurrency: 8,
    runId: `${runId}-cip`,
    paceBy: (n) => (load()?.accepted() ?? 0) >= (n * COMMANDS) / CIP_COMMANDS,
  });
  cleanup.push(() => cip.close());
  return { callbacks, cip };
}

describe('SIGKILL under load', () => {
  it('the dev host: every accepted command EXECUTED after the restart, stored once, with one result', async () => {
    const { db, runId, progress } = await setup();
    const names = faultNames();
    const host = await CexProcess.start('dev host', faultEnv(db, testNatsUrl(), names));
    cleanup.push(() => host.stop());
    const sim = await simulate(testNatsUrl(), names, 100);
    cleanup.push(() => sim.stop());

    // eslint-disable-next-line prefer-const -- resultLoads reads it through a closure before it is assigned
    let load: Load | undefined;
    const { callbacks, cip } = await resultLoads(sim, names.cex, runId, () => load);
    load = asyncLoad(sim, runId, () => [host.url], callbacks);
    for (const share of [0.3, 0.65]) {
      await until(() => load.accepted() >= COMMANDS * share);
      await host.killAndRestart();
    }
    const outcomes = await load.done;
    const settleMs = await waitUntilExecuted(db.sql, runId, COMMANDS, 60_000);
    const allExecutedMs = Date.now() - host.kills.at(-1)!.readyAt!;
    const results = await settleResults(db.sql, cip, `${runId}-cip`, [sim], callbacks.receiver, outcomes, callbacks.urlOf);

    const f = await figuresOf(db.sql, runId, outcomes, [sim]);
    const recovery: Record<string, number | undefined> = {};
    host.kills.forEach((kill, i) => {
      recovery[`#${i + 1} kill → ready again`] = kill.readyAt! - kill.at;
      recovery[`#${i + 1} kill → first command accepted`] = firstAcceptAfter(outcomes, kill.at);
      recovery[`#${i + 1} kill → executions resumed`] = progress.resumedAfter(kill.at, kill.readyAt);
    });
    recovery['last restart → all executed'] = allExecutedMs;
    const killedAfter = host.kills.map((k) => outcomes.filter((o) => o.acceptedAt! < k.at).length).join(' and ');
    report(`SIGKILL of the dev host after ${killedAfter} of ${COMMANDS} async commands`, f, recovery, {
      'connection errors retried': outcomes.reduce((s, o) => s + o.networkErrors, 0),
    });
    reportResults(results.cip, results.callbacks, host.kills.length);
    expect(outcomes.flatMap((o) => o.unexpected)).toEqual([]);
    expect(f.accepted).toBe(COMMANDS);
    expect(mustBeZero(f)).toEqual(ZERO);
    expect(settleMs).not.toBeNaN();
    expect(resultChecks(results.cip, results.callbacks, host.kills.length)).toEqual(RESULTS_OK);
  });

  it('split units: the bridge, then command-submit, then esp-inbound, each SIGKILLed and restarted', async () => {
    const { db, runId, progress } = await setup();
    const names = faultNames();
    const env = faultEnv(db, testNatsUrl(), names);
    const [submit, inbound] = await Promise.all([
      CexProcess.start('command-submit', env, 'command-submit'),
      CexProcess.start('esp-inbound', env, 'esp-inbound'),
    ]);
    const bridge = await CexProcess.start(
      'nats-bridge',
      {
        ...env,
        CEX_COMMAND_SUBMIT_URL: submit.url,
        CEX_ESP_INBOUND_URL: inbound.url,
        CEX_SCMP_CONFIG_RELOAD_URL: inbound.url,
      },
      'nats-bridge',
    );
    for (const p of [bridge, inbound, submit]) cleanup.push(() => p.stop());
    const sim = await simulate(testNatsUrl(), names, 100);
    cleanup.push(() => sim.stop());

    // eslint-disable-next-line prefer-const -- resultLoads reads it through a closure before it is assigned
    let load: Load | undefined;
    const { callbacks, cip } = await resultLoads(sim, names.cex, runId, () => load);
    load = asyncLoad(sim, runId, () => [submit.url], callbacks);
    const victims = [bridge, submit, inbound];
    for (const [i, victim] of victims.entries()) {
      await until(() => load.accepted() >= (COMMANDS * (i + 1)) / (victims.length + 1));
      // esp-inbound stays down past the endpoints' 3 result attempts (3 s each):
      // those results are lost, and come back when CEX re-pushes their commands.
      await victim.killAndRestart(victim === inbound ? 10_000 : 0);
    }
    const outcomes = await load.done;
    const settleMs = await waitUntilExecuted(db.sql, runId, COMMANDS, 60_000);
    const lastReady = inbound.kills[0]!.readyAt!;
    const allExecutedMs = Date.now() - lastReady;
    const results = await settleResults(db.sql, cip, `${runId}-cip`, [sim], callbacks.receiver, outcomes, callbacks.urlOf);

    const f = await figuresOf(db.sql, runId, outcomes, [sim]);
    const recovery: Record<string, number | undefined> = {};
    for (const victim of victims) {
      const kill = victim.kills[0]!;
      recovery[`${victim.label} kill → ready`] = kill.readyAt! - kill.at;
      recovery[`${victim.label} kill → executions resumed`] = progress.resumedAfter(kill.at, kill.readyAt);
    }
    recovery['command-submit kill → first command accepted'] = firstAcceptAfter(outcomes, submit.kills[0]!.at);
    recovery['last restart → all executed'] = allExecutedMs;
    report(`SIGKILL of single units (bridge; command-submit; esp-inbound, down 10 s) during ${COMMANDS} async commands`, f, recovery, {
      'connection errors retried': outcomes.reduce((s, o) => s + o.networkErrors, 0),
    });
    reportResults(results.cip, results.callbacks, victims.length);
    expect(outcomes.flatMap((o) => o.unexpected)).toEqual([]);
    expect(f.accepted).toBe(COMMANDS);
    expect(mustBeZero(f)).toEqual(ZERO);
    expect(settleMs).not.toBeNaN();
    expect(f.resultsResent).toBeGreaterThan(0);
    expect(resultChecks(results.cip, results.callbacks, victims.length)).toEqual(RESULTS_OK);
  });
});
