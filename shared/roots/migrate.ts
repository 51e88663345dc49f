import type { Config } from '../config/index.js';
import { createPool, migrate } from '../db/index.js';
import { createLogger } from '../log/index.js';

/**
 * Composition root of FUNCTION_TARGET=migrate (the Knative Job): one
 * session connection, the pending migrations applied, then exit.
 */
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
