import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createPool, quoteIdent, sleep, type Sql } from '../../shared/db/index.js';
import { databaseUrl } from '../setup/provided.js';

/** A database of one test file, cloned from the run's migrated template. */
export interface TestDatabase {
  name: string;
  url: string;
  /** A pool on `url` (createPool, max 5). */
  sql: Sql;
  /** Closes `sql` and drops the database. */
  drop(): Promise<void>;
}

/**
 * CREATE DATABASE <prefix>_<random> TEMPLATE <template>: the migrated schema
 * in a few tens of milliseconds, and no rows shared with other files, so files
 * run in parallel. Call it in beforeAll and drop() in afterAll; global
 * teardown drops whatever a crashed file left.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `${inject('pgDbPrefix')}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => cloneTemplate(admin, name, inject('pgTemplateDb')));
  const url = databaseUrl(adminUrl, name);
  const sql = createPool(url, { max: 5, applicationName: 'cex-test' });
  let dropped: Promise<void> | undefined;
  return {
    name,
    url,
    sql,
    drop: () =>
      (dropped ??= (async () => {
        await sql.end({ timeout: 5 });
        await withAdmin(adminUrl, (admin) => admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      })()),
  };
}

async function cloneTemplate(admin: Sql, name: string, template: string): Promise<void> {
  // 55006 "source database is being accessed by other users": a session on
  // the template (a closing migration pool whose backend has not exited yet,
  // or someone's psql) blocks cloning. Such sessions end quickly; retry ~5 s.
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || attempt >= 50) throw err;
      await sleep(100);
    }
  }
}

async function withAdmin<T>(adminUrl: string, work: (admin: Sql) => Promise<T>): Promise<T> {
  const admin = createPool(adminUrl, { max: 1, applicationName: 'cex-test-admin' });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
