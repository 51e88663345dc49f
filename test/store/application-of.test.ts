import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createBatch,
  createCommand,
  noteAppVersion,
  readCommand,
  recordResults,
  saveTektonSnapshot,
  type NewCommand,
} from '../../shared/store/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

// cex_application_of (migrations 0004, 0005, 0008) is the one home of the app
// version -> application rule: every create path and the recording of
// results derive application_name with it.
describe('cex_application_of', () => {
  it.each([
    ['smart-meter-v1', 'smart-meter'],
    ['app-v1', 'app'],
    ['plain', 'plain'],
    ['-leading', '-leading'],
    ['trailing-', 'trailing'],
    ['a-b-c-d', 'a-b-c'],
    ['x--y', 'x-'],
    ['-', '-'],
    ['', ''],
    ['ünï-cødé-2', 'ünï-cødé'],
  ])('derives the application of "%s" as "%s" (Tekton off: the name minus its last -suffix)', async (name, app) => {
    const [row] = await db.sql<{ app: string | null }[]>`SELECT cex_application_of(${name}, false) AS app`;
    expect(row!.app).toBe(app);
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

  // Not inlined (0005's sub-select), it ran through the SQL-function executor
  // for every row of a batch INSERT (migration 0008 says what that cost).
  it('is inlined into the calling statement: the plan shows the rule, not a function call', async () => {
    const plan = async (tekton: boolean) => {
      const rows = await db.sql<{ 'QUERY PLAN': string }[]>`
        EXPLAIN (VERBOSE, COSTS OFF) SELECT cex_application_of(v, ${tekton}) FROM unnest(${['a-v1']}::text[]) AS u(v)`;
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    const off = await plan(false);
    expect(off).toContain('regexp_replace');
    expect(off).not.toContain('cex_application_of');
    const on = await plan(true);
    expect(on).toContain('cex_tekton_application');
    expect(on).not.toContain('cex_application_of');
  });
});

// Every path that creates a command (or records a result) derives the
// application with that one rule, so they agree for the same endpoint.
describe('the application of a created command', () => {
  const base = (over: Partial<NewCommand> = {}): NewCommand => ({
    tenantId: 'kaa',
    endpointId: 'rule-1',
    commandType: 'reboot',
    payload: null,
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 0,
    origin: 'rest',
    ...over,
  });

  it('is the same on the one-statement, Idempotency-Key, 12/CIP and batch paths (Tekton off)', async () => {
    await noteAppVersion(db.sql, 'rule-1', 'smart-meter-v1');
    const plain = await createCommand(db.sql, base());
    const keyed = await createCommand(db.sql, base({ idempotencyKey: 'rule-key-1' }));
    const cip = await createCommand(db.sql, base({ commandId: 1000, origin: 'cip', cipCorrelationId: 'rule-cip-1' }));
    const batch = await createBatch(db.sql, {
      tenantId: 'kaa',
      commandType: 'reboot',
      filterId: null,
      payload: null,
      ttlMillis: 60_000,
      endpoints: [{ endpointId: 'rule-1', appVersionName: null }],
    });
    const batched = await readCommand(db.sql, 'kaa', batch.commands[0]!);
    expect([plain, keyed, cip].map((o) => o.command.applicationName)).toEqual(['smart-meter', 'smart-meter', 'smart-meter']);
    expect(batched?.applicationName).toBe('smart-meter');
    const [task] = await db.sql<
      { appName: string | null }[]
    >`SELECT app_name AS "appName" FROM batch_tasks WHERE task_id = ${batch.taskId}::uuid`;
    expect(task!.appName).toBe('smart-meter');
  });

  it("is Tekton's on every path when Tekton is on, NULL for an unlisted version", async () => {
    await saveTektonSnapshot(db.sql, {
      versions: [{ appVersionName: 'lamp-v7', applicationName: 'street-lamp', tenantId: 'kaa' }],
      applications: [{ applicationName: 'street-lamp', tenantId: 'kaa' }],
    });
    await noteAppVersion(db.sql, 'rule-2', 'lamp-v7');
    await noteAppVersion(db.sql, 'rule-3', 'lamp-v8');
    for (const endpointId of ['rule-2', 'rule-3']) {
      const expected = endpointId === 'rule-2' ? 'street-lamp' : null;
      const plain = await createCommand(db.sql, base({ endpointId, tektonEnabled: true }));
      const keyed = await createCommand(db.sql, base({ endpointId, tektonEnabled: true, idempotencyKey: `key-${endpointId}` }));
      const batch = await createBatch(db.sql, {
        tenantId: 'kaa',
        commandType: 'reboot',
        filterId: null,
        payload: null,
        ttlMillis: 60_000,
        tektonEnabled: true,
        endpoints: [{ endpointId, appVersionName: null }],
      });
      const batched = await readCommand(db.sql, 'kaa', batch.commands[0]!);
      expect([plain.command.applicationName, keyed.command.applicationName, batched?.applicationName]).toEqual([
        expected,
        expected,
        expected,
      ]);
    }
  });

  it('follows the version a result reports', async () => {
    const { command } = await createCommand(db.sql, base({ endpointId: 'rule-4' }));
    expect(command.applicationName).toBeNull();
    await recordResults(db.sql, 'rule-4', 'reboot', [{ commandId: command.commandId, statusCode: 200 }], 'water-meter-v3', false);
    expect((await readCommand(db.sql, 'kaa', command))?.applicationName).toBe('water-meter');
  });
});
