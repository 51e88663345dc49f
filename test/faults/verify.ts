/**
 * What a fault scenario must leave behind, checked in Postgres and against
 * the simulator's own record of what it executed, and the figures printed.
 */
import type { Sql } from '../../shared/db/index.js';
import type { Simulator } from '../../shared/simulator/index.js';
import type { Outcome } from './load.js';

export interface Figures {
  /** Logical commands CEX answered 200 or 202 for. */
  accepted: number;
  /** Of those, EXECUTED in Postgres. */
  executed: number;
  /** Accepted but not EXECUTED (or not stored at all). Must be 0. */
  lost: number;
  /** Command rows beyond one per logical command (a retry stored twice). Must be 0. */
  storedTwice: number;
  /** Command items that reached the endpoints (pushes and poll answers), counted before any de-duplication. */
  delivered: number;
  /** Of those, items of a command the endpoint had executed already (re-pushes: by design after a lost result). */
  deliveredAgain: number;
  /**
   * Logical commands delivered more than once after CEX had accepted their
   * result: CEX pushing an EXECUTED command. One such delivery may be a push
   * that was on its way when the result landed; a second one is a defect. Must be 0.
   */
  redeliveredAfterResult: number;
  /** A second result recorded (status changed twice, or a conflicting result refused). Must be 0. */
  duplicatedResults: number;
  /** EXECUTED rows whose result is not the endpoint's echo of their own payload. Must be 0. */
  wrongResults: number;
  /** Results the simulator sent again after a re-push (their first delivery died with CEX). */
  resultsResent: number;
}

/** Waits until every command of the run is final; resolves with the time it took (ms). */
export async function waitUntilExecuted(sql: Sql, runId: string, expected: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const [row] = await sql<{ executed: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'EXECUTED')::int AS executed FROM commands WHERE request_payload->>'run' = ${runId}`;
    if (row!.executed >= expected) return Date.now() - started;
    if (Date.now() - started > timeoutMs) return Number.NaN;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Figures of one run (commands whose payload carries `run: runId`). */
export async function figuresOf(sql: Sql, runId: string, outcomes: readonly Outcome[], sims: readonly Simulator[]): Promise<Figures> {
  const rows = await sql<{ endpointId: string; commandId: number; n: number; status: string; version: number; same: boolean }[]>`
    SELECT endpoint_id AS "endpointId", command_id AS "commandId", (request_payload->>'n')::int AS n, status, version,
           (response_payload IS NOT DISTINCT FROM request_payload) AS same
      FROM commands WHERE request_payload->>'run' = ${runId}`;
  const byKey = new Map(rows.map((r) => [`${r.endpointId}/${r.commandId}`, r]));
  const accepted = outcomes.filter((o) => o.status === 200 || o.status === 202);
  const executedOk = accepted.filter((o) => byKey.get(`${o.endpointId}/${o.commandId}`)?.status === 'EXECUTED');

  // Deliveries are matched to the run's commands by (endpoint, type, id): repeats carry the same key.
  const ofRun = new Set(rows.map((r) => `${r.endpointId}/reboot/${r.commandId}`));
  const deliveries = sims.flatMap((sim) => sim.deliveries()).filter((d) => ofRun.has(`${d.endpointId}/${d.commandType}/${d.commandId}`));
  const afterResult = new Map<string, number>();
  for (const d of deliveries.filter((x) => x.resultAcceptedBefore)) {
    const key = `${d.endpointId}/${d.commandId}`;
    afterResult.set(key, (afterResult.get(key) ?? 0) + 1);
  }
  const conflicts = sims.reduce((sum, s) => sum + (s.stats().errorAnswers['409'] ?? 0), 0);
  return {
    accepted: accepted.length,
    executed: executedOk.length,
    lost: accepted.length - executedOk.length,
    storedTwice: rows.length - new Set(rows.map((r) => r.n)).size,
    delivered: deliveries.length,
    deliveredAgain: deliveries.filter((d) => d.executedBefore).length,
    redeliveredAfterResult: [...afterResult.values()].filter((count) => count > 1).length,
    duplicatedResults: rows.filter((r) => r.version > 2).length + conflicts,
    wrongResults: rows.filter((r) => r.status === 'EXECUTED' && !r.same).length,
    resultsResent: sims.reduce((sum, s) => sum + s.stats().resultsResent, 0),
  };
}

/** The figures that must be zero, for one expect(). */
export function mustBeZero(f: Figures): Record<string, number> {
  return {
    lost: f.lost,
    storedTwice: f.storedTwice,
    redeliveredAfterResult: f.redeliveredAfterResult,
    duplicatedResults: f.duplicatedResults,
    wrongResults: f.wrongResults,
  };
}

/** What mustBeZero must equal. */
export const ZERO = { lost: 0, storedTwice: 0, redeliveredAfterResult: 0, duplicatedResults: 0, wrongResults: 0 };

const seconds = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

/** Prints a scenario's figures and recovery times (the issue's closing note quotes these lines). */
export function report(
  scenario: string,
  f: Figures,
  recovery: Record<string, number | undefined>,
  extra: Record<string, string | number> = {},
): void {
  const lines = [
    `[fault] ${scenario}`,
    `  commands accepted ${f.accepted}, executed ${f.executed}, lost ${f.lost}, duplicated results ${f.duplicatedResults}, ` +
      `stored twice ${f.storedTwice}, wrong results ${f.wrongResults}`,
    `  delivered to the endpoints ${f.delivered} (before de-duplication), of executed commands again ${f.deliveredAgain} (by design), ` +
      `more than once after the result was accepted ${f.redeliveredAfterResult}, results re-sent after a re-push ${f.resultsResent}`,
  ];
  if (Object.keys(recovery).length > 0)
    lines.push(
      `  recovery: ${Object.entries(recovery)
        .map(([k, v]) => `${k} ${seconds(v)}`)
        .join(', ')}`,
    );
  if (Object.keys(extra).length > 0)
    lines.push(
      `  ${Object.entries(extra)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  console.log(lines.join('\n'));
}

/**
 * Time from `at` to the first acceptance of an attempt started after it (ms):
 * how long callers could not get a command in.
 */
export function firstAcceptAfter(outcomes: readonly Outcome[], at: number): number | undefined {
  const after = outcomes.filter((o) => o.acceptedAttemptAt !== undefined && o.acceptedAttemptAt >= at).map((o) => o.acceptedAt!);
  return after.length ? Math.min(...after) - at : undefined;
}
