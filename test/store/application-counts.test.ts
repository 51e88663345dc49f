import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { countApplication, createCommand, deleteCommand, expireDueCommands, noteAppVersion, purgeHistory, recordResults } from '../../shared/store/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const make = (endpointId: string, commandType = 'reboot', over: Record<string, unknown> = {}) =>
  createCommand(db.sql, {
    tenantId: 'kaa', endpointId, commandType, payload: null, ttlMillis: 60_000, awaitTimeoutSeconds: 0, origin: 'rest', ...over,
  });

/** The truth the counters must equal: a plain count over the rows. */
async function counted(app: string, statuses?: string[], types?: string[]) {
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM commands WHERE tenant_id = 'kaa' AND application_name = ${app}
       AND (${statuses ?? null}::text[] IS NULL OR status = ANY(${statuses ?? null}::text[]))
       AND (${types ?? null}::text[] IS NULL OR command_type = ANY(${types ?? null}::text[]))`;
  return row!.n;
}

async function expectCountsExact() {
  for (const [statuses, types] of [[undefined, undefined], [['PENDING'], undefined], [['EXECUTED', 'EXPIRED'], undefined], [undefined, ['SWITCH']], [['PENDING'], ['reboot']]] as const) {
    const args = { tenantId: 'kaa', applicationName: 'meter', ...(statuses ? { statuses: [...statuses] as never } : {}), ...(types ? { commandTypes: [...types] } : {}) };
    expect(await countApplication(db.sql, args)).toBe(await counted('meter', statuses ? [...statuses] : undefined, types ? [...types] : undefined));
  }
}

describe('per-application counts kept by triggers', () => {
  it('follow inserts (single and concurrent), results, expiries, deletes and purges exactly', async () => {
    await noteAppVersion(db.sql, 'm-1', 'meter-v1');
    await noteAppVersion(db.sql, 'm-2', 'meter-v2');
    await Promise.all(Array.from({ length: 40 }, (_, i) => make(i % 2 ? 'm-1' : 'm-2', i % 5 ? 'reboot' : 'SWITCH')));
    await make('unknown-endpoint'); // no app version: not counted, not listed
    await expectCountsExact();
    expect(await countApplication(db.sql, { tenantId: 'kaa', applicationName: 'meter' })).toBe(40);

    await recordResults(db.sql, 'm-1', 'reboot', [{ commandId: 2, statusCode: 200 }, { commandId: 4, statusCode: 500 }]);
    await make('m-1', 'reboot', { ttlMillis: 1 });
    await new Promise((r) => setTimeout(r, 10));
    await expireDueCommands(db.sql);
    await expectCountsExact();

    const [first] = await db.sql<{ id: number }[]>`SELECT command_id AS id FROM commands WHERE endpoint_id = 'm-2' LIMIT 1`;
    await deleteCommand(db.sql, 'kaa', { endpointId: 'm-2', commandType: 'reboot', commandId: first!.id });
    await db.sql`UPDATE commands SET updated_at = now() - interval '30 days' WHERE status <> 'PENDING'`;
    expect(await purgeHistory(db.sql, 7)).toBeGreaterThan(0);
    await expectCountsExact();
    // A result that sets the application of a command created before the version was known.
    const { command } = await make('late-1');
    await recordResults(db.sql, 'late-1', 'reboot', [{ commandId: command.commandId, statusCode: 200 }], 'meter-v3', 'meter');
    await expectCountsExact();
  });

  it('reset with TRUNCATE', async () => {
    await db.sql`TRUNCATE commands`;
    expect(await countApplication(db.sql, { tenantId: 'kaa', applicationName: 'meter' })).toBe(0);
  });
});
