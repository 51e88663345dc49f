#!/usr/bin/env node
/**
 * `npm run simulate -- [options]` / `cex-sim [options]`: plays endpoints
 * against a running CEX over NATS and prints what happens, so a newcomer can
 * see commands flow with no device. Invoke commands through the REST API or
 * 12/CIP while it runs; Ctrl-C stops it and prints the totals.
 */
import { parseArgs } from 'node:util';
import { startSimulator } from './simulator.js';
import type { SimulatorOptions, SimulatorStats } from './types.js';

const USAGE = `cex-sim: simulated Kaa endpoints for CEX

Options (defaults in brackets):
  --nats URL             NATS server [$NATS_URL or nats://127.0.0.1:4222]
  --endpoints N          endpoints to play [1]
  --prefix P             endpoint id prefix [sim-ep-]
  --app-version V        appVersionName sent [sim-app-v1]
  --kpc NAME             communication service instance played [$KPC_INSTANCE_NAME or kpc]
  --cex NAME             CEX instance addressed [$CEX_INSTANCE_NAME or cex]
  --delay MS             execution time of each command [0]
  --failure-rate R       fraction of commands answered with --failure-status [0]
  --failure-status CODE  status code of a simulated failure [500]
  --observe true|false|none   observe flag of the polls [true]
  --poll-interval MS     poll every endpoint this often (0 = only at start) [0]
  --no-poll              do not poll at start
  --no-announce          do not publish 9/ELCE connected/disconnected
  --batch-window MS      collect results this long into one message [0]
  --report MS            print counters this often (0 = only at the end) [5000]
  --duration MS          stop after this long (0 = run until Ctrl-C) [0]
  --json                 print counters as JSON lines
  --help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nats: { type: 'string' },
      endpoints: { type: 'string' },
      prefix: { type: 'string' },
      'app-version': { type: 'string' },
      kpc: { type: 'string' },
      cex: { type: 'string' },
      delay: { type: 'string' },
      'failure-rate': { type: 'string' },
      'failure-status': { type: 'string' },
      observe: { type: 'string' },
      'poll-interval': { type: 'string' },
      'no-poll': { type: 'boolean' },
      'no-announce': { type: 'boolean' },
      'batch-window': { type: 'string' },
      report: { type: 'string' },
      duration: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const num = (name: string, value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`--${name} must be a number from 0 to ${max}`);
    return n;
  };
  const observeFlag = values.observe ?? 'true';
  if (!['true', 'false', 'none'].includes(observeFlag)) throw new UsageError('--observe must be true, false or none');
  const options: SimulatorOptions = {
    natsUrl: values.nats ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    endpoints: num('endpoints', values.endpoints, 1, 1_000_000),
    endpointPrefix: values.prefix ?? 'sim-ep-',
    appVersionName: values['app-version'] ?? 'sim-app-v1',
    kpcInstanceName: values.kpc ?? process.env.KPC_INSTANCE_NAME ?? 'kpc',
    cexInstanceName: values.cex ?? process.env.CEX_INSTANCE_NAME ?? 'cex',
    delayMs: num('delay', values.delay, 0),
    failureRate: num('failure-rate', values['failure-rate'], 0, 1),
    failureStatusCode: num('failure-status', values['failure-status'], 500, 599),
    observe: observeFlag === 'none' ? null : observeFlag === 'true',
    pollIntervalMs: num('poll-interval', values['poll-interval'], 0),
    pollOnStart: !values['no-poll'],
    announceConnectivity: !values['no-announce'],
    batchWindowMs: num('batch-window', values['batch-window'], 0),
  };
  return run(options, num('report', values.report, 5000), num('duration', values.duration, 0), values.json ?? false);
}

async function run(options: SimulatorOptions, reportMs: number, durationMs: number, json: boolean): Promise<void> {
  const started = Date.now();
  const print = (stats: SimulatorStats, final: boolean) =>
    process.stdout.write(
      json ? `${JSON.stringify({ final, elapsedMs: Date.now() - started, ...stats })}\n` : format(stats, started, final),
    );
  process.stdout.write(
    `cex-sim: ${options.endpoints} endpoint(s) on ${options.natsUrl}, kpc=${options.kpcInstanceName}, cex=${options.cexInstanceName}\n`,
  );
  const sim = await startSimulator(options);
  const reporter = reportMs > 0 ? setInterval(() => print(sim.stats(), false), reportMs) : undefined;
  await new Promise<void>((resolve) => {
    if (durationMs > 0) setTimeout(resolve, durationMs);
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (reporter) clearInterval(reporter);
  await sim.stop();
  print(sim.stats(), true);
}

function format(s: SimulatorStats, started: number, final: boolean): string {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const errors =
    Object.entries(s.errorAnswers)
      .map(([code, n]) => `${code}×${n}`)
      .join(' ') || 'none';
  return (
    `${final ? 'total' : 'now'} ${seconds}s: pushes ${s.pushesReceived}, polls ${s.pollAnswers}/${s.pollsSent}, ` +
    `commands ${s.commandsReceived} (executed ${s.commandsExecuted}, duplicates ${s.duplicatesReceived}), ` +
    `results accepted ${s.resultsAccepted} refused ${s.resultsRefused} undelivered ${s.resultsUndelivered}, ` +
    `timeouts ${s.requestsTimedOut}, error answers ${errors}\n`
  );
}

class UsageError extends Error {}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      err instanceof UsageError ? `${err.message}\n\n${USAGE}` : `cex-sim failed: ${err instanceof Error ? err.stack : String(err)}\n`,
    );
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
