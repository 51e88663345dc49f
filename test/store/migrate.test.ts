import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createPool, migrate, migrationsApplied, quoteIdent, readMigrations } from '../../shared/db/index.js';
import { databaseUrl } from '../setup/provided.js';

const admin = createPool(inject('pgAdminUrl'), { max: 1, applicationName: 'cex-test-migrate' });
const created: string[] = [];

async function emptyDatabase(): Promise<string> {
  const name = `${inject('pgDbPrefix')}_empty_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
  created.push(name);
  return databaseUrl(inject('pgAdminUrl'), name);
}

afterAll(async () => {
  for (const name of created) await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  await admin.end();
});

describe('migration runner', () => {
  it('applies the schema exactly once when two runners start together on an empty database', async () => {
    const url = await emptyDatabase();
    const a = createPool(url, { max: 2, applicationName: 'runner-a' });
    const b = createPool(url, { max: 2, applicationName: 'runner-b' });
    try {
      const files = await readMigrations();
      const [appliedA, appliedB] = await Promise.all([migrate(a), migrate(b)]);
      // Every file applied by exactly one of the two runners.
      expect([...appliedA, ...appliedB].sort((x, y) => x - y)).toEqual(files.map((f) => f.version));
      expect(appliedA.length === 0 || appliedB.length === 0).toBe(true);
      const rows = await a<{ version: number }[]>`SELECT version FROM cex_migrations ORDER BY version`;
      expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
      expect(await migrationsApplied(a)).toBe(true);
      // A third run finds nothing to do.
      expect(await migrate(a)).toEqual([]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('reports an unmigrated database as not ready', async () => {
    const url = await emptyDatabase();
    const sql = createPool(url, { max: 1, applicationName: 'runner-c' });
    try {
      expect(await migrationsApplied(sql)).toBe(false);
    } finally {
      await sql.end();
    }
  });

  it('rolls back a failing migration entirely and records nothing for it', async () => {
    const url = await emptyDatabase();
    const sql = createPool(url, { max: 1, applicationName: 'runner-d' });
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'cex-migrations-'));
    await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE first_table (id int);');
    await writeFile(path.join(dir, '0002_broken.sql'), 'CREATE TABLE half_done (id int); SELECT no_such_function();');
    try {
      await expect(migrate(sql, undefined, dir)).rejects.toThrow(/0002_broken\.sql failed/);
      const versions = await sql<{ version: number }[]>`SELECT version FROM cex_migrations`;
      expect(versions.map((v) => v.version)).toEqual([1]);
      const [half] = await sql`SELECT to_regclass('half_done') AS t`;
      expect(half!.t).toBeNull();
    } finally {
      await sql.end();
    }
  });
});
