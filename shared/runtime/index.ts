import { ConfigError, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { createPool, migrationsApplied, PgListener, type Sql } from '../db/index.js';
import { createMetrics, type Metrics } from '../metrics/index.js';

export type ReadinessCheck = () => Promise<boolean>;

/**
 * The core every service of a process stands on: config, logger, the query
 * pool, the one LISTEN connection, metrics, readiness checks and shutdown
 * hooks. Built by the process's composition root (shared/roots) and handed
 * down explicitly; nothing connects until used (postgres.js connects lazily,
 * the listener when its first subscriber starts it).
 */
export interface Runtime {
  /** The unit (or `dev-host`) this runtime serves: names its connections in pg_stat_activity. */
  readonly unit: string;
  readonly config: Config;
  readonly log: Logger;
  readonly sql: Sql;
  readonly metrics: Metrics;
  /** The process's one dedicated LISTEN connection; connects when a subscriber (the change feed, tenancy) starts it. */
  readonly listener: PgListener;
  /** A check of what this pod itself can do (its migrations seen, the bridge's NATS connection); readiness needs all. */
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /**
   * A check of a shared dependency (Postgres, Tenant Manager, Tekton): NOT
   * part of readiness, where one failover would mark every pod of every
   * function unready at once; reported as cex_dependency_up and in /readyz's
   * body, while requests that need it answer 503 themselves.
   */
  addDependencyCheck(name: string, check: ReadinessCheck): void;
  /** Runs every readiness check (each capped at 2 s); all must pass. */
  readiness(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  /** Runs every dependency check (each capped at 2 s) and sets cex_dependency_up. */
  dependencies(): Promise<Record<string, boolean>>;
  /** Registers cleanup run on shutdown, last registered first. */
  onShutdown(hook: () => Promise<void> | void): void;
  /** Readiness turns false; requests are still served (the bridge drains through them). */
  markDraining(): void;
  /** New requests get 503 and shutdown hooks run (waiters released); connections stay open. */
  beginShutdown(): Promise<void>;
  /** Closes the listener and the pool; call after in-flight work finished. */
  close(): Promise<void>;
  /** beginShutdown() then close(). */
  shutdown(): Promise<void>;
  readonly shuttingDown: boolean;
}

export function createRuntime(config: Config, unit = config.functionTarget ?? 'dev-host'): Runtime {
  if (!config.databaseUrl) throw new ConfigError('invalid configuration: DATABASE_URL: required');
  const databaseUrl = config.databaseUrl;
  const log = createLogger(config.logLevel, unit);
  const metrics = createMetrics();
  const sql = createPool(databaseUrl, poolOptions(config, unit, log));
  // LISTEN needs a session of its own: never through a transaction-mode pooler.
  const listenUrl = config.databaseListenUrl ?? databaseUrl;
  const checks = new Map<string, ReadinessCheck>();
  const dependencyChecks = new Map<string, ReadinessCheck>();
  const hooks: (() => Promise<void> | void)[] = [];
  const listener = new PgListener(listenUrl, {
    applicationName: `cex-${unit}-listener`,
    log: log.child({ component: 'listener' }),
    onConnected: (reconnects) => {
      if (reconnects > 0) metrics.listenerReconnects.inc();
    },
  });
  let migrated = false;
  let shuttingDown = false;
  let draining = false;

  dependencyChecks.set('postgres', async () => {
    await sql`SELECT 1`;
    return true;
  });
  // Asked of Postgres until seen once (a revision started before the
  // migrations Job takes no traffic); after that the schema stays current
  // for the life of the process, and a Postgres outage is no reason to take
  // this pod out of its Service.
  checks.set('migrations', async () => (migrated ||= await migrationsApplied(sql)));

  const rt: Runtime = {
    unit,
    config,
    log,
    sql,
    metrics,
    listener,
    addReadinessCheck(name, check) {
      checks.set(name, check);
    },
    addDependencyCheck(name, check) {
      dependencyChecks.set(name, check);
    },
    async readiness() {
      const results = await runChecks(checks);
      return { ready: !draining && !shuttingDown && Object.values(results).every(Boolean), checks: results };
    },
    async dependencies() {
      const results = await runChecks(dependencyChecks);
      for (const [name, up] of Object.entries(results)) metrics.dependencyUp.set({ dependency: name }, up ? 1 : 0);
      return results;
    },
    onShutdown(hook) {
      hooks.push(hook);
    },
    markDraining() {
      draining = true;
    },
    async beginShutdown() {
      draining = true;
      if (shuttingDown) return;
      shuttingDown = true;
      for (const hook of hooks.reverse()) {
        try {
          await hook();
        } catch (err) {
          log.error({ err }, 'shutdown hook failed');
        }
      }
    },
    async close() {
      await listener.stop();
      await sql.end({ timeout: 5 }).catch(() => undefined);
    },
    async shutdown() {
      await rt.beginShutdown();
      await rt.close();
    },
    get shuttingDown() {
      return shuttingDown;
    },
  };
  return rt;
}

/** The query pool's options: CEX_DB_POOL_MAX connections, prepared statements unless a transaction pooler is in front. */
// Not pipelined, like the bridge's pool: a query pipelined behind another on
// a connection that pg_terminate_backend cut could stay unanswered for good,
// and its caller with it (the fault suite's pg-terminate: one invoke hung
// until its client gave up, 1 run in 9). With creates and results grouped
// (shared/commands), few statements are in flight at once even at c=64, so
// a query that finds every connection busy waits for one instead.
function poolOptions(config: Config, unit: string, log: Logger) {
  return { max: config.dbPoolMax, applicationName: `cex-${unit}`, log, prepare: config.dbPooler !== 'transaction', pipeline: false };
}

async function runChecks(checks: Map<string, ReadinessCheck>): Promise<Record<string, boolean>> {
  const results: Record<string, boolean> = {};
  await Promise.all(
    [...checks].map(async ([name, check]) => {
      results[name] = await withTimeout(check(), 2000).catch(() => false);
    }),
  );
  return results;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
