import type { Sql } from '../shared/db/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../shared/simulator/index.js';
import { foldApplicationTotals } from '../shared/store/index.js';
import type { BenchHost } from './lib/host.js';
import { HttpClient } from './lib/http.js';
import { nowMs, progress, round, runConcurrently, Samples } from './lib/stats.js';

export interface CexTarget {
  host: BenchHost;
  sql: Sql;
  natsUrl: string;
  cex: string;
  kpc: string;
}

/** A simulator playing `count` endpoints that execute every pushed command at once. */
export function simulatorFor(t: CexTarget, prefix: string, count: number, hooks: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({
    natsUrl: t.natsUrl,
    cexInstanceName: t.cex,
    kpcInstanceName: t.kpc,
    endpointPrefix: prefix,
    endpoints: count,
    appVersionName: 'bench-v1',
    pollOnStart: false,
    ...hooks,
  });
}

const invokeUrl = (t: CexTarget, endpointId: string, query: string) =>
  `${t.host.url}/api/v1/endpoints/${endpointId}/commands/reboot?${query}`;

/** Where one sync round trip's time goes (ms, p50 / p99 of each stage). */
export interface StageSplit {
  /** REST request sent → the push reached the endpoint. */
  restToPush: Pct;
  /** The endpoint sent its result → CEX's 4/ESP answer reached it. */
  resultToAnswer: Pct;
  /** The endpoint sent its result → the HTTP 200 reached the caller. */
  resultTo200: Pct;
}

export interface SyncFigures extends Pct {
  perSecond: number;
  non200: number;
  /**
   * Postgres statements per command (pg_stat_statements), the idle background
   * subtracted; each is a round trip, and with none inside an explicit
   * transaction on the sync path, a transaction. Undefined without the extension.
   */
  statementsPerCommand: number | undefined;
  stages: StageSplit;
}

/**
 * Sync invoke round trip: REST → push over NATS → simulated endpoint →
 * result → REST 200, at a given concurrency (each concurrent caller on its
 * own endpoint, as a fleet would be). Each round trip is split in stages
 * from the endpoint's side (see StageSplit), and Postgres's transaction
 * counter is read around the timed run.
 */
export async function measureSync(t: CexTarget, concurrency: number, total: number): Promise<SyncFigures> {
  // One request in flight per endpoint; each command's times by `endpoint/id`.
  const sentAt = new Map<string, number>();
  const times = new Map<string, { sent: number; pushed: number; executed?: number }>();
  const stages = { restToPush: new Samples(), resultToAnswer: new Samples(), resultTo200: new Samples() };
  let split = false;
  const sim = await simulatorFor(t, `sync${concurrency}-`, concurrency, {
    defaultHandler: (command) => {
      const sent = sentAt.get(command.endpointId);
      if (split && sent !== undefined) times.set(`${command.endpointId}/${command.commandId}`, { sent, pushed: performance.now() });
      return { statusCode: 200, reasonPhrase: 'OK', payload: command.payload };
    },
    // The result goes out right after (same turn of the endpoint's event loop).
    onExecuted: (command) => {
      const entry = times.get(`${command.endpointId}/${command.commandId}`);
      if (entry) entry.executed = performance.now();
    },
    // Taken here: CEX's answer to the endpoint may come after the caller's 200.
    onResultAnswered: (_endpoint, _type, _ids, sent, answered) => {
      if (split) stages.resultToAnswer.add(answered - sent);
    },
  });
  const client = new HttpClient(concurrency);
  const samples = new Samples();
  let non200 = 0;
  const one = async (i: number) => {
    const endpoint = sim.endpointIds[i % concurrency]!;
    sentAt.set(endpoint, performance.now());
    const res = await client.request('POST', invokeUrl(t, endpoint, 'awaitTimeout=30'), '{"n":1}');
    const done = performance.now();
    sentAt.delete(endpoint);
    if (res.status !== 200) non200++;
    const key = `${endpoint}/${String(res.headers['x-command-id'])}`;
    const entry = times.get(key);
    times.delete(key);
    if (entry?.executed !== undefined) {
      stages.restToPush.add(entry.pushed - entry.sent);
      stages.resultTo200.add(done - entry.executed);
    }
  };
  await runConcurrently(concurrency, Math.min(total, concurrency * 5), one); // warm-up
  const background = await backgroundStatementRate(t.sql);
  const before = await statementCount(t.sql);
  split = true;
  const started = nowMs();
  await runConcurrently(concurrency, total, (i) => samples.time(() => one(i)));
  const seconds = (nowMs() - started) / 1000;
  split = false;
  const after = await statementCount(t.sql);
  const perSecond = Math.round(total / seconds);
  client.close();
  await sim.stop();
  return {
    ...samples.summary(),
    perSecond,
    non200,
    statementsPerCommand: statementsPer(total, before, after, background),
    stages: {
      restToPush: stages.restToPush.summary(),
      resultToAnswer: stages.resultToAnswer.summary(),
      resultTo200: stages.resultTo200.summary(),
    },
  };
}

type Pct = { p50: number; p99: number; n: number };

/**
 * Statements the database ran so far (pg_stat_statements; BEGIN and COMMIT
 * count as statements, the readings themselves do not), or undefined where
 * the extension is not loaded. pg_stat_database's transaction counter was
 * tried first: Postgres 15 publishes a connection's counts only when it
 * next works after a pause, so a pool idle before a run reported the earlier
 * phase's transactions inside the run (8.0 per command read, 6.3 statements
 * logged with log_statement=all).
 */
export async function statementCount(sql: Sql): Promise<{ count: number; at: number } | undefined> {
  try {
    const [row] = await sql<{ n: string }[]>`
      SELECT COALESCE(sum(calls), 0)::text AS n FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND query NOT LIKE '%pg_stat_statements%'`;
    return { count: Number(row!.n), at: nowMs() };
  } catch {
    return undefined;
  }
}

/** Statements per second of the idle system (safety ticks, catch-up scans, maintenance loops), over 3 s. */
export async function backgroundStatementRate(sql: Sql): Promise<number | undefined> {
  const a = await statementCount(sql);
  await new Promise((r) => setTimeout(r, 3_000));
  const b = await statementCount(sql);
  if (!a || !b) return undefined;
  return Math.max(0, (b.count - a.count) / ((b.at - a.at) / 1000));
}

/** Statements per operation between two readings, the idle background subtracted; undefined without the extension. */
export function statementsPer(
  operations: number,
  before: { count: number; at: number } | undefined,
  after: { count: number; at: number } | undefined,
  background: number | undefined,
): number | undefined {
  if (!before || !after || background === undefined) return undefined;
  const spent = after.count - before.count - background * ((after.at - before.at) / 1000);
  return round(Math.max(0, spent) / operations, 2);
}

/**
 * Async throughput at steady state: callers invoke with awaitTimeout=0 as
 * fast as CEX accepts; the simulator executes every push. Counted from the
 * database: commands that became EXECUTED per second in the measured window.
 */
export async function measureAsync(
  t: CexTarget,
  concurrency: number,
  ms: number,
): Promise<{ acceptedPerSecond: number; executedPerSecond: number; backlogAtEnd: number; transactionsPerCommand: number }> {
  const endpoints = 500;
  const sim = await simulatorFor(t, 'async-', endpoints);
  const client = new HttpClient(concurrency);
  let accepted = 0;
  let stop = false;
  const loops = Array.from({ length: concurrency }, async (_, loop) => {
    for (let i = 0; !stop; i++) {
      const res = await client.request('POST', invokeUrl(t, sim.endpointIds[(loop + i * concurrency) % endpoints]!, 'awaitTimeout=0'), '1');
      if (res.status === 202) accepted++;
    }
  });
  const warm = ms / 4;
  await new Promise((r) => setTimeout(r, warm));
  const countExecuted = async () =>
    (await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE endpoint_id LIKE 'async-%' AND status = 'EXECUTED'`)[0]!.n;
  // Commits and rollbacks of the bench database while commands run (the two counting reads add two).
  const transactions = async () =>
    Number(
      (
        await t.sql<{ n: string }[]>`
          SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()`
      )[0]!.n,
    );
  const x0 = await transactions();
  const [e0, a0, t0] = [await countExecuted(), accepted, nowMs()];
  await new Promise((r) => setTimeout(r, ms));
  const [e1, a1, t1] = [await countExecuted(), accepted, nowMs()];
  const x1 = await transactions();
  stop = true;
  await Promise.all(loops);
  client.close();
  const [backlog] = await t.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM commands WHERE endpoint_id LIKE 'async-%' AND status = 'PENDING'`;
  await sim.stop();
  const seconds = (t1 - t0) / 1000;
  return {
    acceptedPerSecond: Math.round((a1 - a0) / seconds),
    executedPerSecond: Math.round((e1 - e0) / seconds),
    backlogAtEnd: backlog!.n,
    transactionsPerCommand: Math.round(((x1 - x0 - 3) / Math.max(1, e1 - e0)) * 100) / 100,
  };
}

/**
 * 10,000 concurrent sync invokes held by one instance, whose results are
 * recorded later by a second writer (`record`): all must be answered 200,
 * with one LISTEN connection; RSS of the host before and at the peak.
 */
export async function measureWaiters(
  t: CexTarget,
  count: number,
  record: (endpointId: string, commandId: number) => Promise<void>,
): Promise<{
  waiters: number;
  answered200: number;
  otherAnswers: Record<string, number>;
  listenConnections: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  wakeAllMs: number;
}> {
  const rssBeforeMiB = t.host.rssMiB();
  const client = new HttpClient(count + 10);
  const endpoints = Array.from({ length: count }, (_, i) => `waiter-${i}`);
  let answered200 = 0;
  const otherAnswers: Record<string, number> = {};
  // Callers arrive at 1,000/s (waves of 100 every 100 ms): at 10,000/s a
  // host busy with the earlier phases' pushes accepted too slowly and the
  // kernel's accept queue (4,096, net.core.somaxconn) overflowed (measured:
  // 55,000 listen overflows, 1,387 connections reset). Once arrived, all
  // 10,000 wait at the same time.
  const calls = endpoints.map(async (e, i) => {
    await new Promise((r) => setTimeout(r, Math.floor(i / 100) * 100));
    return client.request('POST', invokeUrl(t, e, 'awaitTimeout=60&commandTtl=120000'), 'null').then(
      (r) => {
        if (r.status === 200) answered200++;
        else otherAnswers[r.status] = (otherAnswers[r.status] ?? 0) + 1;
      },
      (err: NodeJS.ErrnoException) => {
        otherAnswers[err.code ?? 'error'] = (otherAnswers[err.code ?? 'error'] ?? 0) + 1;
      },
    );
  });
  for (let last = -1, stalled = 0; ;) {
    const [row] = await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE endpoint_id LIKE 'waiter-%'`;
    progress(`waiters: ${row!.n}/${count} commands created`);
    if (row!.n >= count) break;
    // Some invokes failed (counted in otherAnswers): stop waiting for their commands.
    stalled = row!.n === last ? stalled + 1 : 0;
    if (stalled > 20) break;
    last = row!.n;
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 500));
  const rssPeakMiB = t.host.rssMiB();
  const [listen] = await t.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'cex-%-listener'`;
  const started = nowMs();
  await runConcurrently(32, count, (i) => record(endpoints[i]!, 1));
  await Promise.all(calls);
  const wakeAllMs = Math.round(nowMs() - started);
  client.close();
  return { waiters: count, answered200, otherAnswers, listenConnections: listen!.n, rssBeforeMiB, rssPeakMiB, wakeAllMs };
}

/**
 * History on `rows` stored commands, seeded in one INSERT … SELECT from
 * generate_series: keyset pages of 50 of the per-application list (walking
 * nextCursor deep into it), its first page, and a per-endpoint page of 50.
 */
export async function measureHistory(t: CexTarget, rows: number, pages: number) {
  progress(`history: seeding ${rows.toLocaleString()} commands`);
  const seedStarted = nowMs();
  await t.sql`
    INSERT INTO commands (endpoint_id, command_type, command_id, tenant_id, status, status_code, request_payload,
                          response_payload, created_at, updated_at, expires_at, ttl_millis, app_version_name, application_name)
    SELECT 'hist-' || (i % 10000), 'reboot', i / 10000 + 1, 'kaa',
           CASE WHEN i % 10 = 0 THEN 'PENDING' ELSE 'EXECUTED' END, 200, '{"n":1}', '"ok"',
           now() - make_interval(secs => (${rows}::int - i) * 0.5), now(), now() + interval '1 day', 60000, 'histapp-v1', 'histapp'
      FROM generate_series(0, ${rows}::int - 1) AS i`;
  // Fold the seed's 1,000,000 totals deltas as the bridge's fold loop (every
  // second, shared/jobs/maintenance.ts) would have by now; either may fold
  // a batch, so wait until none is left.
  while ((await t.sql<{ left: boolean }[]>`SELECT EXISTS (SELECT FROM application_total_deltas) AS left`)[0]!.left) {
    if ((await foldApplicationTotals(t.sql, 100_000)) === 0) await new Promise((r) => setTimeout(r, 100));
  }
  // VACUUM as autovacuum would have by now: index-only scans need the visibility map.
  await t.sql`VACUUM ANALYZE commands`;
  await t.sql`VACUUM ANALYZE application_total_deltas`;
  // And the checkpoint that follows a million-row insert, which otherwise
  // wrote its dirty pages during the timed walk (needs pg_checkpoint or a
  // superuser: skipped on a DATABASE_URL server without it).
  await t.sql`CHECKPOINT`.catch(() => undefined);
  const seedSeconds = round((nowMs() - seedStarted) / 1000, 1);
  const client = new HttpClient(1);
  const api = `${t.host.url}/api/v1/endpoints/commands`;
  // Warm-up, untimed: postgres.js prepares a statement once per pooled
  // connection, and requests rotate over the host's 20, so the first ~20
  // pages after the seed each paid a parse and plan (measured: 37, 13, 10,
  // 6 ms, then 1.5-2.5 ms); a server that has run for a while has them
  // prepared. The timed walk starts again from the first page.
  for (let i = 0, next: string | null = null; i < 30; i++) {
    const res = await client.request('GET', `${api}/histapp?size=50${next ? `&cursor=${next}` : ''}`);
    next = (JSON.parse(res.body) as { nextCursor: string | null }).nextCursor;
    if (!next) break;
  }
  const keyset = new Samples();
  let cursor: string | null = null;
  for (let i = 0; i < pages; i++) {
    progress(`history: keyset page ${i + 1}/${pages}`);
    const url: string = `${api}/histapp?size=50${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await keyset.time(() => client.request('GET', url));
    cursor = (JSON.parse(res.body) as { nextCursor: string | null }).nextCursor;
    if (!cursor) break;
  }
  const firstPage = new Samples();
  for (let i = 0; i < pages; i++) await firstPage.time(() => client.request('GET', `${api}/histapp?size=50`));
  const endpointPage = new Samples();
  for (let i = 0; i < pages; i++) await endpointPage.time(() => client.request('GET', `${api}?endpointId=hist-${i % 10000}&limit=50`));
  client.close();
  return { rows, seedSeconds, keysetPage50: keyset.summary(), firstPage50: firstPage.summary(), endpointPage50: endpointPage.summary() };
}

/**
 * Wake-up of a sync waiter: from the moment the result's commit and NOTIFY
 * returned (recorded by another writer) to the HTTP 200 at the caller. Held
 * against the raw NOTIFY → listener floor of the same run.
 */
export async function measureWake(
  t: CexTarget,
  n: number,
  record: (endpointId: string, commandId: number) => Promise<void>,
): Promise<{ p50: number; p99: number; n: number }> {
  const client = new HttpClient(1);
  const samples = new Samples();
  for (let i = 0; i < n; i++) {
    const endpoint = `wake-${i}`;
    let answeredAt = 0;
    const call = client.request('POST', invokeUrl(t, endpoint, 'awaitTimeout=30'), 'null').then((r) => {
      answeredAt = nowMs();
      return r;
    });
    for (;;) {
      const [row] = await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE endpoint_id = ${endpoint}`;
      if (row!.n > 0) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    // Let the waiter register before the result lands (its first re-read would otherwise find it).
    await new Promise((r) => setTimeout(r, 20));
    await record(endpoint, 1);
    const recordedAt = nowMs();
    const res = await call;
    if (res.status !== 200) throw new Error(`wake: invoke answered ${res.status}`);
    samples.add(answeredAt - recordedAt);
  }
  client.close();
  return samples.summary();
}
