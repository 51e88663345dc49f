import { randomBytes } from 'node:crypto';
import path from 'node:path';
import postgres from 'postgres';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { createPool, migrate, quoteIdent } from '../db/index.js';
import { createRuntime, installRuntime, type Runtime } from '../runtime/index.js';
import type { Simulator } from '../simulator/index.js';
import { startEmbeddedPostgres, startNatsServer } from '../devstack/index.js';
import { allUnits, getUnit } from './units.js';
import { formatBanner } from './banner.js';
import { startDemoFleet, stopDemoFleet } from './demo-fleet.js';
import { serveUnits, type RunningHost } from './serve.js';

/** FUNCTION_TARGET=migrate: apply pending migrations and exit (Knative Job). */
export async function runMigrations(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, 'migrate');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required to migrate');
  // The migrator holds a session advisory lock across transactions: a direct
  // (session) connection, like LISTEN's, never a transaction-mode pooler.
  const sql = createPool(config.databaseListenUrl ?? config.databaseUrl, { max: 1, applicationName: 'cex-migrate', log });
  try {
    const applied = await migrate(sql, log);
    log.info({ applied }, applied.length ? 'migrations applied' : 'schema already current');
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** FUNCTION_TARGET=<unit>: one unit, as its Knative Service runs it. Never migrates (the Job does). */
export async function runSingleUnit(config: Config, name: string): Promise<void> {
  const unit = getUnit(name);
  if (!unit) throw new Error(`FUNCTION_TARGET ${name} is not a unit of this image`);
  const rt = createRuntime(config, name);
  installRuntime(rt);
  warnIfAuthOff(config, rt.log);
  const host = await serveUnits(rt, [unit], false);
  stopOnSignals(host, rt.log, { after: async () => undefined });
}

/** How the dev host runs: `make run`, or `make demo` (with a simulated fleet). */
export interface DevHostOptions {
  /** Start the simulated endpoints demo-1 … demo-10 once ready. */
  demo?: boolean;
}

/**
 * No FUNCTION_TARGET: the dev host a newcomer gets from `make run`. With
 * DATABASE_URL unset it starts an embedded Postgres (files under .data/pg);
 * with NATS_URL unset a nats-server child on a free port. Both stay in this
 * process group, so killing the group leaves nothing behind. Once ready it
 * prints one banner on stderr (where everything is, what to try).
 */
export async function runDevHost(initial: Config, options: DevHostOptions = {}): Promise<void> {
  const log = createLogger(initial.logLevel, 'dev-host');
  const stopDeps: (() => Promise<void>)[] = [];
  if (!initial.databaseUrl) {
    const pg = await startEmbeddedPostgres({ dataDir: path.resolve(process.env.CEX_DATA_DIR ?? '.data', 'pg'), log });
    stopDeps.push(() => pg.stop());
    process.env.DATABASE_URL = await ensureDatabase(pg.url, 'cex');
    log.info({ dataDir: pg.dataDir, port: pg.port }, 'embedded Postgres started');
  }
  if (!initial.natsUrl) {
    const nats = await startNatsServer({ log });
    stopDeps.push(() => nats.stop());
    process.env.NATS_URL = nats.url;
    log.info({ url: nats.url }, 'local nats-server started');
  }
  if (process.env.CEX_AUTH === undefined && !initial.tenantManagerUrl && !initial.oauthIssuer) {
    // A newcomer has no OAuth issuer yet (warnIfAuthOff says so below).
    process.env.CEX_AUTH = 'off';
    log.info('no TENANT_MANAGER_URL or CEX_OAUTH_ISSUER is set: turning authentication off');
  }
  ensureInternalCredential(log);
  const config = loadConfig();
  warnIfAuthOff(config, log);
  const rt = createRuntime(config, 'dev-host');
  installRuntime(rt);
  await migrate(rt.sql, rt.log);
  const host = await serveUnits(rt, allUnits(), true);
  let fleet: Simulator | undefined;
  const stopping = stopOnSignals(host, log, {
    // The fleet first: its last results and its "disconnected" still reach the bridge.
    before: async () => (fleet ? stopDemoFleet(fleet) : undefined),
    after: async () => {
      for (const stop of stopDeps.reverse()) await stop().catch((err) => log.error({ err }, 'dependency stop failed'));
    },
  });
  if (!(await untilReady(rt, stopping))) return;
  if (options.demo) fleet = await startDemoFleet(config, log);
  if (stopping()) return;
  process.stderr.write(
    formatBanner({ port: host.port, natsUrl: config.natsUrl ?? '', auth: config.auth, demoEndpoints: fleet?.endpointIds ?? [] }),
  );
}

/** Resolves true once the runtime reports ready, false if a shutdown began first. */
async function untilReady(rt: Runtime, stopping: () => boolean): Promise<boolean> {
  for (;;) {
    if (stopping()) return false;
    if ((await rt.readiness()).ready) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The bridge and the functions of the dev host share one process, so unless
 * one is given they share a credential generated here, kept in memory only:
 * a client of the dev host cannot POST an event or a NATS request to a
 * function (/units/...) in the bridge's name.
 */
function ensureInternalCredential(log: Logger): void {
  if (process.env.CEX_INTERNAL_TOKEN) return;
  process.env.CEX_INTERNAL_TOKEN = randomBytes(32).toString('base64url');
  log.info('internal credential generated for this process: /units/* CloudEvents and /nats/request answer 401 to anyone else');
}

/** Says loudly at start, whoever set it, that requests are not authenticated. */
function warnIfAuthOff(config: Config, log: Logger): void {
  if (!config.auth) log.warn('authentication is OFF (CEX_AUTH=off): requests are NOT authenticated and act as tenant kaa (development only)');
}

/** Creates `name` on the server at `adminUrl` when missing; returns its URL. */
async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (!exists) await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Work around the host's stop: `before` (the host still serves), `after` (it is closed). */
interface StopHooks {
  before?: () => Promise<unknown>;
  after: () => Promise<void>;
}

/** Stops on SIGTERM/SIGINT (a second signal exits at once); returns whether a stop began. */
function stopOnSignals(host: RunningHost, log: Logger, hooks: StopHooks): () => boolean {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'shutting down');
    Promise.resolve(hooks.before?.())
      .catch((err) => log.error({ err }, 'stopping before the host failed'))
      .then(() => host.stop())
      .then(hooks.after)
      .then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => signalled;
}
