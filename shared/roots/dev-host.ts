import { randomBytes } from 'node:crypto';
import path from 'node:path';
import postgres from 'postgres';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { migrate, quoteIdent } from '../db/index.js';
import type { Simulator } from '../simulator/index.js';
import { startEmbeddedPostgres, startNatsServer } from '../devstack/index.js';
import type { UnitDefinition } from '../host/units.js';
import { formatBanner } from '../host/banner.js';
import { startDemoFleet, stopDemoFleet } from '../host/demo-fleet.js';
import { serveUnits } from '../host/serve.js';
import { stopOnSignals, untilReady, warnIfAuthOff } from './process.js';
import { buildServices, startServices } from './services.js';
import { startTracing, stopTracing } from '../tracing/index.js';

/** How the dev host runs: `make run`, or `make demo` (with a simulated fleet). */
export interface DevHostOptions {
  /** Start the simulated endpoints demo-1 … demo-10 once ready. */
  demo?: boolean;
}

/**
 * Composition root with no FUNCTION_TARGET: the dev host a newcomer gets
 * from `make run`, every unit and the bridge in one process. In order:
 * 0. tracing, when OTEL_* turns it on (before any logger, whose lines then
 *    carry trace ids);
 * 1. dependencies: with DATABASE_URL unset an embedded Postgres (files under
 *    .data/pg), with NATS_URL unset a nats-server child on a free port (both
 *    in this process group, so killing the group leaves nothing behind);
 *    authentication off when no issuer is configured; an internal credential;
 * 2. the services (shared/roots/services.ts), migrations, then tenancy and
 *    the change feed started;
 * 3. every unit served on PORT (the bridge's start runs last, its forwards
 *    come back to this same host over HTTP);
 * 4. once ready, the demo fleet (make demo) and the banner on stderr.
 * SIGTERM undoes it in reverse: fleet, bridge, host (waiters released,
 * in-flight finished), listener and pool, the last spans, then nats-server
 * and Postgres.
 */
export async function runDevHost(initial: Config, units: UnitDefinition[], options: DevHostOptions = {}): Promise<void> {
  await startTracing({ unit: 'dev-host', replicaId: initial.replicaId }, createLogger(initial.logLevel, 'dev-host'));
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
  const services = buildServices(config, 'dev-host');
  await migrate(services.sql, services.log);
  startServices(services);
  const host = await serveUnits(services, units, true);
  let fleet: Simulator | undefined;
  const stopping = stopOnSignals(host, log, {
    // The fleet first: its last results and its "disconnected" still reach the bridge.
    before: async () => (fleet ? stopDemoFleet(fleet) : undefined),
    after: async () => {
      await stopTracing();
      for (const stop of stopDeps.reverse()) await stop().catch((err) => log.error({ err }, 'dependency stop failed'));
    },
  });
  if (!(await untilReady(services, stopping))) return;
  if (options.demo) fleet = await startDemoFleet(config, log);
  if (stopping()) return;
  process.stderr.write(
    formatBanner({ port: host.port, natsUrl: config.natsUrl ?? '', auth: config.auth, demoEndpoints: fleet?.endpointIds ?? [] }),
  );
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
