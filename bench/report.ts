import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SyncFigures } from './cex.js';
import type { Floors } from './floors.js';
import type { TracingCost } from './tracing.js';

type Pct = { p50: number; p99: number; n: number };

export interface Report {
  settings: Record<string, unknown>;
  sources: { postgres: string; nats: string };
  floors: Floors;
  /** Each target's bundle (dist/bundles/<target>.mjs), as the image starts it. */
  coldStartMs: Record<string, number>;
  /** The CPU time those starts used (Linux). */
  coldStartCpuMs: Record<string, number>;
  /** The same targets from the unbundled dist/functions/main.js. */
  coldStartMainMs: Record<string, number>;
  sync1: SyncFigures;
  sync64: SyncFigures;
  /** Sync throughput with tracing off and on (100 % sampled, exported), hosts of their own. */
  tracing: TracingCost;
  bridge: { push: Pct; forward: Pct };
  async: { acceptedPerSecond: number; executedPerSecond: number; backlogAtEnd: number; transactionsPerCommand: number };
  batch: { endpoints: number; ms: number; perSecond: number } | null;
  wake: Pct;
  waiters: {
    waiters: number;
    answered200: number;
    otherAnswers: Record<string, number>;
    listenConnections: number;
    rssBeforeMiB: number;
    rssPeakMiB: number;
    wakeAllMs: number;
  };
  history: { rows: number; seedSeconds: number; keysetPage50: Pct; firstPage50: Pct; endpointPage50: Pct };
  ideal: { sync1: Pct & { statementsPerCommand: number | undefined }; syncConcurrent: Pct & { perSecond: number; concurrency: number } };
  peer: { addedPerSecond: number; donePerSecond: number; addToDone: Pct };
  durationSeconds: number;
}

const x = (value: number, floor: number) => (floor > 0 ? `${(value / floor).toFixed(1)}×` : 'n/a');
const ms = (v: number) => `${v.toFixed(2)} ms`;

/** The rows of the table: figure, value, floor it is held to, ratio. */
export function rows(r: Report): [string, string, string, string][] {
  const f = r.floors;
  const floorSum = f.pgInsertCommit.p50 + f.natsRoundTrip.p50 + f.pgInsertCommit.p50 + f.notifyWake.p50;
  const out: [string, string, string, string][] = [
    ['floor: NATS request/reply p50 / p99', `${ms(f.natsRoundTrip.p50)} / ${ms(f.natsRoundTrip.p99)}`, '', ''],
    ['floor: Postgres insert commit p50 / p99', `${ms(f.pgInsertCommit.p50)} / ${ms(f.pgInsertCommit.p99)}`, '', ''],
    ['floor: NOTIFY → listener wake p50 / p99', `${ms(f.notifyWake.p50)} / ${ms(f.notifyWake.p99)}`, '', ''],
    ['floor: Postgres inserts/s, 64 concurrent', `${f.pgInsertCeilingPerSecond}/s`, '', ''],
    ['HTTP hop via the CEX host p50', ms(f.httpHost.p50), `bare node:http ${ms(f.httpBare.p50)}`, x(f.httpHost.p50, f.httpBare.p50)],
    [
      'HTTP hop via the CEX host req/s',
      `${f.httpHost.requestsPerSecond}/s`,
      `bare ${f.httpBare.requestsPerSecond}/s`,
      x(f.httpBare.requestsPerSecond, f.httpHost.requestsPerSecond) + ' slower',
    ],
    ['sync invoke round trip c=1 p50', ms(r.sync1.p50), `floor sum ${ms(floorSum)}`, x(r.sync1.p50, floorSum)],
    ['sync invoke round trip c=1 p99', ms(r.sync1.p99), `floor sum ${ms(floorSum)}`, x(r.sync1.p99, floorSum)],
    ['sync invoke c=1 vs the one-process ideal p50', ms(r.sync1.p50), `ideal ${ms(r.ideal.sync1.p50)}`, x(r.sync1.p50, r.ideal.sync1.p50)],
    ['sync invoke c=1 p99 vs the ideal p50', ms(r.sync1.p99), `ideal ${ms(r.ideal.sync1.p50)}`, x(r.sync1.p99, r.ideal.sync1.p50)],
    [
      'sync invoke c=1: Postgres statements (= transactions) per command',
      String(r.sync1.statementsPerCommand ?? 'n/a (no pg_stat_statements)'),
      `ideal ${r.ideal.sync1.statementsPerCommand ?? 'n/a'}`,
      r.sync1.statementsPerCommand && r.ideal.sync1.statementsPerCommand
        ? x(r.sync1.statementsPerCommand, r.ideal.sync1.statementsPerCommand)
        : '',
    ],
    ...stageRows('c=1', r.sync1, f),
    [
      `sync invoke round trip c=${r.ideal.syncConcurrent.concurrency} p50 / p99`,
      `${ms(r.sync64.p50)} / ${ms(r.sync64.p99)}`,
      `ideal ${ms(r.ideal.syncConcurrent.p50)}`,
      x(r.sync64.p50, r.ideal.syncConcurrent.p50),
    ],
    [
      `sync invokes/s c=${r.ideal.syncConcurrent.concurrency}`,
      `${r.sync64.perSecond}/s${r.sync64.non200 ? ` (${r.sync64.non200} not 200)` : ''}`,
      `ideal ${r.ideal.syncConcurrent.perSecond}/s`,
      x(r.sync64.perSecond, r.ideal.syncConcurrent.perSecond) + ' of ideal',
    ],
    [
      `sync invoke c=${r.ideal.syncConcurrent.concurrency}: Postgres statements per command`,
      String(r.sync64.statementsPerCommand ?? 'n/a'),
      `ideal at c=1 ${r.ideal.sync1.statementsPerCommand ?? 'n/a'}`,
      '',
    ],
    ...stageRows(`c=${r.ideal.syncConcurrent.concurrency}`, r.sync64, f),
    ...tracingRows(r.tracing),
    [
      'bridge: async invoke sent → push published p50 / p99',
      `${ms(r.bridge.push.p50)} / ${ms(r.bridge.push.p99)}`,
      `HTTP hop + commit ${ms(f.httpHost.p50 + f.pgInsertCommit.p50)}`,
      x(r.bridge.push.p50, f.httpHost.p50 + f.pgInsertCommit.p50),
    ],
    [
      'bridge: 4/ESP poll → esp-inbound → answer p50 / p99',
      `${ms(r.bridge.forward.p50)} / ${ms(r.bridge.forward.p99)}`,
      `NATS round trip ${ms(f.natsRoundTrip.p50)}`,
      x(r.bridge.forward.p50, f.natsRoundTrip.p50),
    ],
    [
      'async: commands executed end to end/s',
      `${r.async.executedPerSecond}/s`,
      `insert ceiling ${f.pgInsertCeilingPerSecond}/s`,
      x(r.async.executedPerSecond, f.pgInsertCeilingPerSecond),
    ],
    [
      'async: CEX executed/s vs graphile-worker jobs done/s',
      `${r.async.executedPerSecond}/s`,
      `graphile-worker ${r.peer.donePerSecond}/s`,
      x(r.async.executedPerSecond, r.peer.donePerSecond),
    ],
    [
      'async: Postgres transactions per command (pg_stat_database)',
      r.async.transactionsPerCommand.toFixed(2),
      'per job: graphile-worker add, complete, and its task',
      x(r.async.transactionsPerCommand, 3),
    ],
    [
      'peer: graphile-worker add→done p50 / p99',
      `${ms(r.peer.addToDone.p50)} / ${ms(r.peer.addToDone.p99)}`,
      `CEX sync c=1 ${ms(r.sync1.p50)}`,
      x(r.sync1.p50, r.peer.addToDone.p50),
    ],
    [
      'waiter wake: result committed elsewhere → HTTP 200 p50 / p99',
      `${ms(r.wake.p50)} / ${ms(r.wake.p99)}`,
      `NOTIFY wake ${ms(f.notifyWake.p50)}`,
      x(r.wake.p50, f.notifyWake.p50),
    ],
    [
      `waiters: ${r.waiters.waiters} sync invokes held, answered 200`,
      `${r.waiters.answered200}${Object.keys(r.waiters.otherAnswers).length ? ` (other: ${JSON.stringify(r.waiters.otherAnswers)})` : ''}`,
      `LISTEN connections ${r.waiters.listenConnections}`,
      '',
    ],
    [
      'waiters: RSS before → at peak',
      `${r.waiters.rssBeforeMiB} → ${r.waiters.rssPeakMiB} MiB`,
      `all recorded and answered in ${r.waiters.wakeAllMs} ms`,
      '',
    ],
    [
      `history: keyset page of 50, ${r.history.rows.toLocaleString()} rows, p50 / p99`,
      `${ms(r.history.keysetPage50.p50)} / ${ms(r.history.keysetPage50.p99)}`,
      `commit ${ms(f.pgInsertCommit.p50)}`,
      x(r.history.keysetPage50.p50, f.pgInsertCommit.p50),
    ],
    [
      'history: first page of 50 (with totals) p50 / p99',
      `${ms(r.history.firstPage50.p50)} / ${ms(r.history.firstPage50.p99)}`,
      `commit ${ms(f.pgInsertCommit.p50)}`,
      x(r.history.firstPage50.p50, f.pgInsertCommit.p50),
    ],
    [
      'history: one endpoint, 50 newest p50 / p99',
      `${ms(r.history.endpointPage50.p50)} / ${ms(r.history.endpointPage50.p99)}`,
      `commit ${ms(f.pgInsertCommit.p50)}`,
      x(r.history.endpointPage50.p50, f.pgInsertCommit.p50),
    ],
  ];
  if (r.batch) {
    out.push([
      `batch: ${r.batch.endpoints} endpoints accepted (median of 3)`,
      `${r.batch.ms} ms (${r.batch.perSecond}/s)`,
      `insert ceiling ${f.pgInsertCeilingPerSecond}/s`,
      x(r.batch.perSecond, f.pgInsertCeilingPerSecond),
    ]);
  }
  for (const [target, value] of Object.entries(r.coldStartMs)) {
    const cpu = r.coldStartCpuMs?.[target];
    const main = r.coldStartMainMs?.[target];
    out.push([
      `cold start ${target} (start → /readyz 200)`,
      `${value} ms${cpu === undefined ? '' : ` (CPU ${cpu} ms)`}${main === undefined ? '' : `; main.js ${main} ms`}`,
      '',
      '',
    ]);
  }
  return out;
}

/** Tracing's cost: sync throughput on (every span exported) as a ratio to off, and the statements per command of each. */
function tracingRows(t: TracingCost): [string, string, string, string][] {
  const statements = (runs: SyncFigures[]) => runs.map((s) => s.statementsPerCommand ?? 'n/a').join(' / ');
  return [
    [
      `sync invokes/s c=${t.concurrency}, tracing on (100 % sampled, exported)`,
      `${t.onPerSecond}/s (${t.exports} exports, ${t.exportedKiB} KiB)`,
      `tracing off ${t.offPerSecond}/s`,
      `${t.ratio.toFixed(2)}× of off`,
    ],
    [
      `  tracing off / on: Postgres statements per command`,
      `${statements(t.off)} / ${statements(t.on)}`,
      `per round, ${t.off.length} rounds each`,
      '',
    ],
  ];
}

/** The stage split of one sync run, each stage beside its floor. */
function stageRows(label: string, sync: SyncFigures, f: Floors): [string, string, string, string][] {
  const pair = (p: Pct) => `${ms(p.p50)} / ${ms(p.p99)}`;
  const { restToPush, resultToAnswer, resultTo200 } = sync.stages;
  return [
    [
      `  ${label} stage: REST sent → push at endpoint p50 / p99`,
      pair(restToPush),
      `commit + NOTIFY wake + NATS RTT ${ms(f.pgInsertCommit.p50 + f.notifyWake.p50 + f.natsRoundTrip.p50)}`,
      x(restToPush.p50, f.pgInsertCommit.p50 + f.notifyWake.p50 + f.natsRoundTrip.p50),
    ],
    [
      `  ${label} stage: result sent → its 4/ESP answer p50 / p99`,
      pair(resultToAnswer),
      `commit + NATS RTT ${ms(f.pgInsertCommit.p50 + f.natsRoundTrip.p50)}`,
      x(resultToAnswer.p50, f.pgInsertCommit.p50 + f.natsRoundTrip.p50),
    ],
    [
      `  ${label} stage: result sent → HTTP 200 p50 / p99`,
      pair(resultTo200),
      `commit + NOTIFY wake + NATS RTT ${ms(f.pgInsertCommit.p50 + f.notifyWake.p50 + f.natsRoundTrip.p50)}`,
      x(resultTo200.p50, f.pgInsertCommit.p50 + f.notifyWake.p50 + f.natsRoundTrip.p50),
    ],
  ];
}

export function printReport(r: Report): void {
  const table = rows(r);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `\nCEX bench (${String(r.settings.mode)}) on ${machine().cpu} × ${machine().cores}, ${machine().memoryGiB} GiB, Node ${process.version}; ` +
      `Postgres ${r.sources.postgres}, NATS ${r.sources.nats}; ${r.durationSeconds} s\n\n`,
  );
  process.stdout.write(line(['figure', 'value', 'floor / reference', 'ratio']) + '\n');
  for (const row of table) process.stdout.write(line(row) + '\n');
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
  };
}

/** Writes bench/results/<date>.json with the machine, versions, settings and every figure. */
export async function writeReport(r: Report): Promise<string> {
  const dir = path.resolve(fileURLToPath(new URL('../../bench/results/', import.meta.url)));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify({ date: new Date().toISOString(), machine: machine(), node: process.version, ...r, table: rows(r) }, null, 2),
  );
  return file;
}
