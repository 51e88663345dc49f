import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createPool, migrate, quoteIdent, type Sql } from '../../shared/db/index.js';
import { createLogger, type Logger } from '../../shared/log/index.js';
import { databaseUrl } from './provided.js';
import { dockerOnce, testNats, testPostgres, type TestService } from './services.js';

/**
 * Runs once per vitest run: finds Postgres and NATS (environment, Docker, or
 * embedded children), migrates one template database, and provides what
 * test/helpers need. Each test file then clones the template
 * (test/helpers/db.ts), so files run in parallel without sharing rows.
 * Returns the teardown: drop this run's databases, stop what was started.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // LOG_LEVEL=debug shows postgres and nats-server output.
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'test-setup');
  const docker = dockerOnce();
  const started: TestService[] = [];
  // The random part keeps concurrent runs against one server (DATABASE_URL)
  // apart; teardown drops exactly this run's databases.
  const prefix = `cex_test_${randomBytes(4).toString('hex')}`;
  let adminUrl: string | undefined;
  const cleanUp = async (): Promise<void> => {
    if (adminUrl) await dropDatabases(adminUrl, prefix).catch((err) => log.warn({ err }, 'dropping test databases failed'));
    await Promise.allSettled(started.map((s) => s.stop()));
  };
  try {
    // Both start at once; allSettled so that one failing cannot leave the
    // other running unnoticed.
    const results = await Promise.allSettled([testPostgres(log, docker), testNats(log, docker)]);
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const [pg, nats] = results;
    if (pg.status === 'rejected') throw pg.reason;
    if (nats.status === 'rejected') throw nats.reason;
    adminUrl = pg.value.url;
    const template = `${prefix}_template`;
    await createTemplate(pg.value.url, template, log);

    project.provide('pgAdminUrl', pg.value.url);
    project.provide('pgTemplateDb', template);
    project.provide('pgDbPrefix', prefix);
    project.provide('natsUrl', nats.value.url);
    project.provide('testBackends', { postgres: pg.value.backend, nats: nats.value.backend });
    log.info({ postgres: pg.value.backend, nats: nats.value.backend, template }, 'test services ready');

    return cleanUp;
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

async function createTemplate(adminUrl: string, template: string, log: Logger): Promise<void> {
  const admin = createPool(adminUrl, { max: 1, applicationName: 'cex-test-setup' });
  try {
    await admin.unsafe(`CREATE DATABASE ${quoteIdent(template)}`);
  } finally {
    await admin.end();
  }
  const sql = createPool(databaseUrl(adminUrl, template), { max: 1, applicationName: 'cex-test-migrate' });
  try {
    await migrate(sql, log);
  } finally {
    // Clones fail while anyone is connected to the template (SQLSTATE 55006),
    // so this pool must be closed before the first test file starts.
    await sql.end();
  }
}

async function dropDatabases(adminUrl: string, prefix: string): Promise<void> {
  const admin: Sql = createPool(adminUrl, { max: 1, applicationName: 'cex-test-teardown' });
  try {
    // '_' is a LIKE wildcard; the prefix is hex and underscores, so escape them.
    const pattern = prefix.replace(/_/g, '\\_') + '\\_%';
    const rows = await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE ${pattern}`;
    for (const { datname } of rows) {
      // WITH (FORCE) (PG 13+) ends sessions a crashed test file left open.
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}
