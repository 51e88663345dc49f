import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readMigrations } from '../../shared/db/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';

describe('test harness', () => {
  let db: TestDatabase;
  let other: TestDatabase;

  beforeAll(async () => {
    // Two clones in one file stand in for two files; harness-parallel.test.ts
    // clones at the same time from another process.
    [db, other] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([db?.drop(), other?.drop()]);
  });

  it('clones a migrated database for the file', async () => {
    const tables = await db.sql<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['commands', 'outbox', 'cex_migrations']));
    const applied = await db.sql<{ version: number }[]>`SELECT version FROM cex_migrations ORDER BY version`;
    const files = await readMigrations();
    expect(applied.map((r) => r.version)).toEqual(files.map((f) => f.version));
  });

  it('gives each caller its own database', async () => {
    expect(db.name).not.toBe(other.name);
    expect(db.name.startsWith(inject('pgDbPrefix'))).toBe(true);
    const [current] = await db.sql<{ name: string }[]>`SELECT current_database() AS name`;
    expect(current?.name).toBe(db.name);
    await db.sql`CREATE TABLE only_here (id int)`;
    const [seen] = await other.sql<{ found: boolean }[]>`SELECT to_regclass('only_here') IS NOT NULL AS found`;
    expect(seen?.found).toBe(false);
  });

  it("leaves the machine's own services alone unless told to use them", () => {
    const backends = inject('testBackends');
    if (backends.postgres !== 'env') expect(new URL(inject('pgAdminUrl')).port).not.toBe('5432');
    if (backends.nats !== 'env') expect(new URL(testNatsUrl()).port).not.toBe('4222');
  });

  it('provides NATS and unique names', () => {
    expect(testNatsUrl()).toMatch(/^nats:\/\//);
    const a = uniqueInstanceName();
    expect(a).toMatch(/^cex-[0-9a-f]{8}$/);
    expect(uniqueInstanceName()).not.toBe(a);
  });
});
