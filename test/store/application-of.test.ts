import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { applicationFromVersionName } from '../../shared/domain/index.js';
import { saveTektonSnapshot } from '../../shared/store/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

// The one-statement create derives applications in SQL (migration 0004);
// this keeps that twin of the TypeScript rule in step with it.
describe('cex_application_of', () => {
  const names = ['smart-meter-v1', 'app-v1', 'plain', '-leading', 'trailing-', 'a-b-c-d', 'x--y', '-', '', 'ünï-cødé-2'];

  it.each(names)('agrees with applicationFromVersionName for "%s" (Tekton off)', async (name) => {
    const [row] = await db.sql<{ app: string | null }[]>`SELECT cex_application_of(${name}, false) AS app`;
    expect(row!.app).toBe(applicationFromVersionName(name));
  });

  it("answers Tekton's application, or NULL for an unlisted version (Tekton on)", async () => {
    await saveTektonSnapshot(db.sql, {
      versions: [{ appVersionName: 'meter-v7', applicationName: 'smart-meter', tenantId: 'kaa' }],
      applications: [{ applicationName: 'smart-meter', tenantId: 'kaa' }],
    });
    const rows = await db.sql<{ listed: string | null; unlisted: string | null; none: string | null }[]>`
      SELECT cex_application_of('meter-v7', true) AS listed, cex_application_of('meter-v8', true) AS unlisted,
             cex_application_of(NULL, false) AS none`;
    expect(rows[0]).toEqual({ listed: 'smart-meter', unlisted: null, none: null });
  });
});
