import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// Runs in its own worker alongside harness.test.ts: clones from one template
// at the same moment must both succeed and stay apart.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

it('has its own migrated database', async () => {
  const [row] = await db.sql<{ name: string; commands: number }[]>`
    SELECT current_database() AS name, (SELECT count(*)::int FROM commands) AS commands`;
  expect(row).toEqual({ name: db.name, commands: 0 });
  await db.sql`CREATE TABLE only_in_parallel_file (id int)`;
});
