import { randomBytes } from 'node:crypto';
import path from 'node:path';
import postgres from 'postgres';
import { createLogger } from '../../shared/log/index.js';
import { createPool, migrate, quoteIdent, type Sql } from '../../shared/db/index.js';
import { startEmbeddedPostgres, startNatsServer } from '../../shared/devstack/index.js';

export interface BenchEnv {
  databaseUrl: string;
  natsUrl: string;
  sql: Sql;
  postgresSource: 'env' | 'embedded';
  natsSource: 'env' | 'local nats-server';
  close(): Promise<void>;
}

/**
 * Postgres and NATS for the bench: DATABASE_URL / NATS_URL when given (the
 * database named there is only used to create a fresh bench database beside
 * it), else an embedded Postgres and a nats-server child, as `make run` does.
 */
export async function benchEnv(): Promise<BenchEnv> {
  const log = createLogger('warn', 'bench');
  const stops: (() => Promise<void>)[] = [];
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    // pg_stat_statements counts the statements CEX sends per command (bench/cex.ts).
    const pg = await startEmbeddedPostgres({
      dataDir: path.resolve('.data', 'bench-pg'),
      log,
      settings: { shared_preload_libraries: 'pg_stat_statements' },
    });
    stops.push(() => pg.stop());
    adminUrl = pg.url;
  }
  let natsUrl = process.env.NATS_URL;
  if (!natsUrl) {
    const nats = await startNatsServer({ log });
    stops.push(() => nats.stop());
    natsUrl = nats.url;
  }
  const name = `cex_bench_${randomBytes(3).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const sql = createPool(databaseUrl, { max: 16, applicationName: 'cex-bench' });
  await migrate(sql);
  // Where the server did not preload it (a DATABASE_URL server), the counts read n/a.
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.catch(() => undefined);
  return {
    databaseUrl,
    natsUrl,
    sql,
    postgresSource: process.env.DATABASE_URL ? 'env' : 'embedded',
    natsSource: process.env.NATS_URL ? 'env' : 'local nats-server',
    async close() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => undefined);
      await admin.end({ timeout: 5 });
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}
