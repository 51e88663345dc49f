import path from 'node:path';
import postgres from 'postgres';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { createPool, migrate, quoteIdent } from '../db/index.js';
import { createRuntime, installRuntime } from '../runtime/index.js';
import { startEmbeddedPostgres, startNatsServer } from '../devstack/index.js';
import { allUnits, getUnit } from './units.js';
import { serveUnits, type RunningHost } from './serve.js';

/** FUNCTION_TARGET=migrate: apply pending migrations and exit (Knative Job). */
export async function runMigrations(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, 'migrate');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required to migrate');
  const sql = createPool(config.databaseUrl, { max: 1, applicationName: 'cex-migrate', log });
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
  stopOnSignals(host, rt.log, async () => undefined);
}

/**
 * No FUNCTION_TARGET: the dev host a newcomer gets from `make run`. With
 * DATABASE_URL unset it starts an embedded Postgres (files under .data/pg);
 * with NATS_URL unset a nats-server child on a free port. Both stay in this
 * process group, so killing the group leaves nothing behind.
 */
export async function runDevHost(initial: Config): Promise<void> {
  const log = createLogger(initial.logLevel, 'dev-host');
  const stopDeps: (() => Promise<void>)[] = [];
  if (!initial.databaseUrl) {
    const dataDir = path.resolve(process.env.CEX_DATA_DIR ?? '.data', 'pg');
    const pg = await startEmbeddedPostgres({ dataDir, log });
    stopDeps.push(() => pg.stop());
    process.env.DATABASE_URL = await ensureDatabase(pg.url, 'cex');
    log.info({ dataDir, port: pg.port }, 'embedded Postgres started');
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
  const config = loadConfig();
  warnIfAuthOff(config, log);
  const rt = createRuntime(config, 'dev-host');
  installRuntime(rt);
  await migrate(rt.sql, rt.log);
  const host = await serveUnits(rt, allUnits(), true);
  stopOnSignals(host, log, async () => {
    for (const stop of stopDeps.reverse()) await stop().catch((err) => log.error({ err }, 'dependency stop failed'));
  });
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

function stopOnSignals(host: RunningHost, log: Logger, afterStop: () => Promise<void>): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'shutting down');
    host
      .stop()
      .then(afterStop)
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
}
