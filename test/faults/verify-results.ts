/**
 * What a fault scenario must leave behind for the two ways a result reaches
 * a caller other than REST: 12/CIP result messages and result callbacks.
 * Checked in Postgres and against what the callers received.
 *
 * Both leave CEX through the outbox and are at least once: a row is deleted
 * only after its publish was flushed (CIP) or its POST answered 2xx
 * (callback). When a fault lands between the send and that delete (the
 * bridge SIGKILLed, the DELETE's connection cut, a flush cut short by a NATS
 * restart), the row is sent again once its lease runs out. So a repeat is
 * allowed, and bounded: each fault can repeat only what was in flight at that
 * moment, which is at most the bridge's parallel sends (8 CIP publishes, 64
 * callback POSTs), and a message at most once per fault.
 */
import type { Sql } from '../../shared/db/index.js';
import type { Simulator } from '../../shared/simulator/index.js';
import type { Receiver } from '../callbacks/receiver.js';
import { answeredOk } from './callbacks.js';
import { cipPayload, type CipCall, type CipLoad } from './cip.js';
import type { Outcome } from './load.js';

// DEFAULT_DRAINER_SETTINGS.parallel and the callback deliverer's maxInFlight (shared/bridge).
const CIP_IN_FLIGHT = 8;
const CALLBACKS_IN_FLIGHT = 64;

export interface CipFigures {
  commands: number;
  /** Requests sent, retries included. */
  requests: number;
  /** Commands without any result message. Must be 0. */
  lost: number;
  /** Commands that got exactly one result message. */
  exactlyOne: number;
  /** Result messages beyond the first with the same correlationId (a re-publish after a fault). Bounded. */
  repeated: number;
  /** The most times one correlationId was answered. Bounded. */
  maxPerRequest: number;
  /** Result messages for a second request of the same command (the caller asked again: by design). */
  answersToRetries: number;
  /** Results that are not status 200 with the endpoint's echo of the payload, or name a request never sent. Must be 0. */
  wrongResults: number;
  /** Rows that are not EXECUTED once (one status change), or with a result that is not the echo. Must be 0. */
  badRows: number;
  /** Commands delivered to an endpoint more than once after it had accepted their result. Must be 0. */
  redeliveredAfterResult: number;
}

/** Figures of the CIP commands of a run (payload `{cip: n, run}`). */
export async function cipFiguresOf(sql: Sql, load: CipLoad, runId: string, sims: readonly Simulator[]): Promise<CipFigures> {
  const calls = load.calls;
  const rows = await sql<{ endpointId: string; commandId: number; status: string; version: number; same: boolean }[]>`
    SELECT endpoint_id AS "endpointId", command_id AS "commandId", status, version,
           (response_payload IS NOT DISTINCT FROM request_payload) AS same
      FROM commands WHERE command_type = ${load.commandType} AND request_payload->>'run' = ${runId}`;
  const byKey = new Map(rows.map((r) => [`${r.endpointId}/${r.commandId}`, r]));
  const perRequest = new Map<string, number>();
  let wrongResults = 0;
  let answersToRetries = 0;
  for (const call of calls) {
    const firstAnswered = new Set<string>();
    for (const r of call.results) {
      perRequest.set(r.correlationId, (perRequest.get(r.correlationId) ?? 0) + 1);
      firstAnswered.add(r.correlationId);
      if (!isEcho(call, r.statusCode, r.payload, runId) || !call.attempts.includes(r.correlationId)) wrongResults++;
    }
    answersToRetries += Math.max(0, firstAnswered.size - 1);
  }
  const counts = [...perRequest.values()];
  const badRows = calls.filter((c) => {
    const row = byKey.get(`${c.endpointId}/${c.commandId}`);
    return !row || row.status !== 'EXECUTED' || row.version !== 2 || !row.same;
  }).length;
  return {
    commands: calls.length,
    requests: calls.reduce((s, c) => s + c.attempts.length, 0),
    lost: calls.filter((c) => c.results.length === 0).length,
    exactlyOne: calls.filter((c) => c.results.length === 1).length,
    repeated: counts.reduce((s, n) => s + n - 1, 0),
    maxPerRequest: Math.max(0, ...counts),
    answersToRetries,
    wrongResults,
    badRows,
    redeliveredAfterResult: redeliveredAfterResult(sims, load.commandType, new Set(calls.map((c) => `${c.endpointId}/${c.commandId}`))),
  };
}

function isEcho(call: CipCall, statusCode: number, payload: Buffer | null, runId: string): boolean {
  if (statusCode !== 200 || payload === null) return false;
  try {
    return JSON.stringify(JSON.parse(payload.toString('utf8'))) === JSON.stringify(cipPayload(call.n, runId));
  } catch {
    return false;
  }
}

/** Commands of `type` (among `keys`) that reached an endpoint more than once after their result was accepted. */
function redeliveredAfterResult(sims: readonly Simulator[], type: string, keys: ReadonlySet<string>): number {
  const after = new Map<string, number>();
  for (const d of sims.flatMap((s) => s.deliveries())) {
    const key = `${d.endpointId}/${d.commandId}`;
    if (d.commandType !== type || !keys.has(key) || !d.resultAcceptedBefore) continue;
    after.set(key, (after.get(key) ?? 0) + 1);
  }
  return [...after.values()].filter((n) => n > 1).length;
}

export interface CallbackFigures {
  /** Accepted REST commands that carry a callbackUrl. */
  owed: number;
  /** Of those, without any POST answered 2xx. Must be 0. */
  lost: number;
  posts: number;
  /** POSTs after a 500 of the receiver: retries, by design. */
  retriesAfterFailure: number;
  /** 2xx-answered POSTs beyond the first of one delivery id (the bridge never recorded the 2xx). Bounded. */
  repeated: number;
  /** The most 2xx-answered POSTs of one delivery id. Bounded. */
  maxOkPerDelivery: number;
  /** Commands whose POSTs carried no, or more than one, X-CEX-Delivery-Id, or one another command used too. Must be 0. */
  unstableIds: number;
  /** POSTs whose body is not the command's EXECUTED descriptor, or differs between attempts. Must be 0. */
  wrongBodies: number;
  /** Callback rows still in the outbox. Must be 0. */
  rowsLeft: number;
}

/** Figures of the callbacks of the accepted REST commands whose callbackUrl is `urlOf(n)`. */
export async function callbackFiguresOf(
  sql: Sql,
  receiver: Receiver,
  outcomes: readonly Outcome[],
  urlOf: (n: number) => string | undefined,
): Promise<CallbackFigures> {
  const owed = outcomes.filter((o) => (o.status === 200 || o.status === 202) && urlOf(o.n) !== undefined);
  const byPath = new Map<string, typeof receiver.deliveries>();
  for (const d of receiver.deliveries) byPath.set(d.path, [...(byPath.get(d.path) ?? []), d]);
  const idOwners = new Map<string, Set<string>>();
  for (const d of receiver.deliveries) {
    const id = String(d.headers['x-cex-delivery-id'] ?? '');
    idOwners.set(id, (idOwners.get(id) ?? new Set()).add(d.path));
  }
  let lost = 0;
  let retriesAfterFailure = 0;
  let repeated = 0;
  let maxOkPerDelivery = 0;
  let unstableIds = 0;
  let wrongBodies = 0;
  for (const o of owed) {
    const posts = byPath.get(`/cb/${o.n}`) ?? [];
    const ok = posts.filter((_, i) => answeredOk(o.n, i + 1)).length;
    if (ok === 0) lost++;
    retriesAfterFailure += posts.filter((_, i) => i > 0 && !answeredOk(o.n, i)).length;
    repeated += Math.max(0, ok - 1);
    maxOkPerDelivery = Math.max(maxOkPerDelivery, ok);
    const ids = new Set(posts.map((p) => String(p.headers['x-cex-delivery-id'] ?? '')));
    if (ids.size !== 1 || ids.has('') || idOwners.get([...ids][0]!)!.size !== 1) unstableIds++;
    wrongBodies += posts.filter((p) => p.body !== posts[0]!.body || !isExecutedDescriptor(p.body, o)).length;
  }
  const [left] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox WHERE kind = 'callback'`;
  return {
    owed: owed.length,
    lost,
    posts: receiver.deliveries.length,
    retriesAfterFailure,
    repeated,
    maxOkPerDelivery,
    unstableIds,
    wrongBodies,
    rowsLeft: left!.n,
  };
}

function isExecutedDescriptor(body: string, o: Outcome): boolean {
  try {
    const d = JSON.parse(body) as { endpointId?: string; commandId?: number; status?: string; requestPayload?: { n?: number } };
    return d.endpointId === o.endpointId && d.commandId === o.commandId && d.status === 'EXECUTED' && d.requestPayload?.n === o.n;
  } catch {
    return false;
  }
}

/** Waits until every callback owed was answered 2xx and no callback row is left; false at the deadline. */
export async function waitForCallbacks(
  sql: Sql,
  receiver: Receiver,
  outcomes: readonly Outcome[],
  urlOf: (n: number) => string | undefined,
  timeoutMs: number,
): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const f = await callbackFiguresOf(sql, receiver, outcomes, urlOf);
    if (f.lost === 0 && f.rowsLeft === 0) return true;
  }
  return false;
}

/** Waits until no cip_result row is left (each was published, or is due again after a fault). */
export async function waitForCipOutbox(sql: Sql, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if ((await sql`SELECT 1 FROM outbox WHERE kind = 'cip_result' LIMIT 1`).length === 0) return true;
  }
  return false;
}

/**
 * After the REST load is done: waits (deadlines, not speed claims) until every
 * CIP command has a result and no cip_result row is left, and every callback
 * was answered 2xx with no row left; closes the callers' connection after a
 * flush (anything the server routed to them arrives first); the figures.
 */
export async function settleResults(
  sql: Sql,
  cip: CipLoad,
  runId: string,
  sims: readonly Simulator[],
  receiver: Receiver,
  outcomes: readonly Outcome[],
  urlOf: (n: number) => string | undefined,
): Promise<{ cip: CipFigures; callbacks: CallbackFigures }> {
  // One deadline for all three waits, so a scenario whose results never come
  // fails on its figures, well inside the test's own timeout.
  const deadline = Date.now() + 90_000;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([cip.done, new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))]);
  clearTimeout(timer);
  await waitForCipOutbox(sql, Math.max(0, deadline - Date.now()));
  await waitForCallbacks(sql, receiver, outcomes, urlOf, Math.max(0, deadline - Date.now()));
  await cip.close();
  return { cip: await cipFiguresOf(sql, cip, runId, sims), callbacks: await callbackFiguresOf(sql, receiver, outcomes, urlOf) };
}

/** The figures that must be zero, and the bounded repeats checked against `faults` (fault events of the scenario). */
export function resultChecks(cip: CipFigures, cb: CallbackFigures, faults: number): Record<string, number | boolean> {
  return {
    cipLost: cip.lost,
    cipWrongResults: cip.wrongResults,
    cipBadRows: cip.badRows,
    cipRedeliveredAfterResult: cip.redeliveredAfterResult,
    cipRepeatsWithinBound: cip.repeated <= faults * CIP_IN_FLIGHT && cip.maxPerRequest <= 1 + faults,
    callbacksLost: cb.lost,
    callbackUnstableIds: cb.unstableIds,
    callbackWrongBodies: cb.wrongBodies,
    callbackRowsLeft: cb.rowsLeft,
    callbackRepeatsWithinBound: cb.repeated <= faults * CALLBACKS_IN_FLIGHT && cb.maxOkPerDelivery <= 1 + faults,
  };
}

/** What resultChecks must equal. */
export const RESULTS_OK = {
  cipLost: 0,
  cipWrongResults: 0,
  cipBadRows: 0,
  cipRedeliveredAfterResult: 0,
  cipRepeatsWithinBound: true,
  callbacksLost: 0,
  callbackUnstableIds: 0,
  callbackWrongBodies: 0,
  callbackRowsLeft: 0,
  callbackRepeatsWithinBound: true,
};

/** Prints the CIP and callback figures (the closing note quotes these lines). */
export function reportResults(cip: CipFigures, cb: CallbackFigures, faults: number): void {
  console.log(
    [
      `  12/CIP: ${cip.commands} commands, ${cip.requests} requests (retries included), lost ${cip.lost}, exactly one result ${cip.exactlyOne}, ` +
        `answers to retries ${cip.answersToRetries}, repeated results ${cip.repeated} (bound ${faults * CIP_IN_FLIGHT}, at most ${cip.maxPerRequest} per request), ` +
        `wrong results ${cip.wrongResults}, bad rows ${cip.badRows}, delivered again after the result ${cip.redeliveredAfterResult}`,
      `  callbacks: ${cb.owed} owed, lost ${cb.lost}, ${cb.posts} POSTs, retries after a 500 ${cb.retriesAfterFailure}, ` +
        `repeated 2xx per delivery id ${cb.repeated} (bound ${faults * CALLBACKS_IN_FLIGHT}, at most ${cb.maxOkPerDelivery} per id), ` +
        `unstable ids ${cb.unstableIds}, wrong bodies ${cb.wrongBodies}, rows left ${cb.rowsLeft}`,
    ].join('\n'),
  );
}
