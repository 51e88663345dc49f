/**
 * The per-application totals (migration 0006, countApplication) against
 * count(*) over the commands themselves, for every filter the REST list
 * takes: after each kind of change, folded or not, and under concurrent
 * writers and folds from two "replicas", compared within one snapshot.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPool, migrate, MIGRATIONS_DIR, quoteIdent, type Sql } from '../../shared/db/index.js';
import type { CommandStatus } from '../../shared/domain/index.js';
import {
  countApplication,
  createBatch,
  createCommand,
  deleteCommand,
  expireDueCommands,
  foldApplicationTotals,
  noteAppVersion,
  purgeHistory,
  recordResults,
  type NewCommand,
} from '../../shared/store/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';
import { databaseUrl } from '../setup/provided.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe, batch_tasks`;
});

const make = (over: Partial<NewCommand> = {}) =>
  createCommand(db.sql, {
    tenantId: 'kaa',
    endpointId: 'e-1',
    commandType: 'reboot',
    payload: null,
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 5,
    origin: 'rest',
    ...over,
  });

const FILTERS: { commandTypes?: string[]; statuses?: CommandStatus[] }[] = [
  {},
  { statuses: ['PENDING'] },
  { statuses: ['EXECUTED', 'EXPIRED'] },
  { commandTypes: ['reboot'] },
  { commandTypes: ['SWITCH', 'no-such-type'] },
  { commandTypes: ['reboot', 'SWITCH'], statuses: ['EXECUTED'] },
];

/** Every (tenant, application) with commands or totals, plus one without any. */
async function applications(sql: Sql): Promise<{ tenantId: string; applicationName: string }[]> {
  const rows = await sql<{ tenantId: string; applicationName: string }[]>`
    SELECT tenant_id AS "tenantId", application_name AS "applicationName" FROM commands WHERE application_name IS NOT NULL
     UNION SELECT tenant_id, application_name FROM application_totals
     UNION SELECT tenant_id, application_name FROM application_total_deltas`;
  return [...rows, { tenantId: 'kaa', applicationName: 'no-such-app' }];
}

/** count(*) and countApplication for every application and filter, read by `sql` (one snapshot when a transaction). */
async function compareAll(sql: Sql): Promise<{ key: string; counted: number; total: number }[]> {
  const out: { key: string; counted: number; total: number }[] = [];
  for (const app of await applications(sql)) {
    for (const filter of FILTERS) {
      const types = filter.commandTypes ?? null;
      const statuses = filter.statuses ?? null;
      const [row] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM commands
         WHERE tenant_id = ${app.tenantId} AND application_name = ${app.applicationName}
           AND (${types}::text[] IS NULL OR command_type = ANY(${types}::text[]))
           AND (${statuses}::text[] IS NULL OR status = ANY(${statuses}::text[]))`;
      const total = await countApplication(sql, { ...app, ...filter });
      out.push({ key: `${app.tenantId}/${app.applicationName} ${JSON.stringify(filter)}`, counted: row!.n, total });
    }
  }
  return out;
}

/** Exact before folding and after folding everything. */
async function expectExact(): Promise<void> {
  for (const c of await compareAll(db.sql)) expect(c.total, c.key).toBe(c.counted);
  while ((await foldApplicationTotals(db.sql, 1_000)) > 0);
  const [left] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM application_total_deltas`;
  expect(left!.n).toBe(0);
  for (const c of await compareAll(db.sql)) expect(c.total, c.key).toBe(c.counted);
}

const total = (applicationName: string, filter: { commandTypes?: string[]; statuses?: CommandStatus[] } = {}) =>
  countApplication(db.sql, { tenantId: 'kaa', applicationName, ...filter });

describe('application totals', () => {
  it('stay exact across every way a command is created', async () => {
    await noteAppVersion(db.sql, 'e-1', 'meter-v1');
    await noteAppVersion(db.sql, 'e-2', 'meter-v2');
    await noteAppVersion(db.sql, 'e-3', 'lamp-v1');
    // e-4 has no app version: its commands have no application.
    await make();
    await make({ endpointId: 'e-2' });
    await make({ endpointId: 'e-4' });
    await make({ endpointId: 'e-3', tenantId: 'other' });
    const keyed = await make({ idempotencyKey: 'k-1' });
    expect((await make({ idempotencyKey: 'k-1' })).created).toBe(false);
    await make({ commandId: 77, origin: 'cip', cipReplySubject: 'reply.1' });
    // A 12/CIP retry of that id inserts nothing (ON CONFLICT DO NOTHING).
    expect((await make({ commandId: 77, origin: 'cip', cipReplySubject: 'reply.2' })).created).toBe(false);
    await createBatch(db.sql, {
      tenantId: 'kaa',
      commandType: 'SWITCH',
      filterId: null,
      payload: { on: true },
      ttlMillis: 60_000,
      endpoints: ['e-1', 'e-2', 'e-3', 'e-4'].map((endpointId) => ({ endpointId, appVersionName: null })),
    });
    expect(keyed.command.applicationName).toBe('meter');
    expect(await total('meter')).toBe(6);
    expect(await total('meter', { commandTypes: ['SWITCH'] })).toBe(2);
    expect(await total('lamp')).toBe(1);
    await expectExact();
  });

  it('stay exact across results, an application change, expiry, delete and retention purge', async () => {
    await noteAppVersion(db.sql, 'e-1', 'meter-v1');
    const a = (await make()).command;
    const b = (await make()).command;
    const c = (await make({ commandType: 'SWITCH' })).command;
    const orphan = (await make({ endpointId: 'e-4' })).command;
    expect(orphan.applicationName).toBeNull();
    await expectExact();

    // A result: PENDING -> EXECUTED within meter.
    await recordResults(db.sql, 'e-1', 'reboot', [{ commandId: a.commandId, statusCode: 200 }], 'meter-v1', false);
    expect(await total('meter', { statuses: ['EXECUTED'] })).toBe(1);
    // A result reporting another version moves the command to that application.
    await recordResults(db.sql, 'e-1', 'reboot', [{ commandId: b.commandId, statusCode: 200 }], 'lamp-v3', false);
    expect(await total('lamp', { statuses: ['EXECUTED'] })).toBe(1);
    expect(await total('meter')).toBe(2);
    // A command without an application gets one from its result.
    await recordResults(db.sql, 'e-4', 'reboot', [{ commandId: orphan.commandId, statusCode: 200 }], 'lamp-v3', false);
    expect(await total('lamp')).toBe(2);
    // A repeated result changes nothing.
    await recordResults(db.sql, 'e-1', 'reboot', [{ commandId: a.commandId, statusCode: 200 }], 'meter-v1', false);
    await expectExact();

    // Expiry.
    const short = (await make({ ttlMillis: 1 })).command;
    await untilDatabaseTimePasses(db.sql, short.expiresAt);
    expect((await expireDueCommands(db.sql)).expired.map((x) => x.commandId)).toEqual([short.commandId]);
    expect(await total('meter', { statuses: ['EXPIRED'] })).toBe(1);
    await expectExact();

    // REST delete.
    expect((await deleteCommand(db.sql, 'kaa', c)).deleted).toBe(true);
    expect(await total('meter', { commandTypes: ['SWITCH'] })).toBe(0);
    await expectExact();

    // Retention purge of everything finished (updated_at is not counted: no delta).
    await db.sql`UPDATE commands SET updated_at = now() - interval '30 days' WHERE status <> 'PENDING'`;
    expect(await purgeHistory(db.sql, 7, 5_000)).toBe(4);
    expect(await total('lamp')).toBe(0);
    expect(await total('meter', { statuses: ['EXECUTED', 'EXPIRED'] })).toBe(0);
    await expectExact();
    // Totals rows that fell to zero are dropped by the fold.
    const [zeros] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM application_totals WHERE n = 0`;
    expect(zeros!.n).toBe(0);
  });

  it('fold a bulk insert into one total per key, and TRUNCATE empties them', async () => {
    await db.sql`INSERT INTO endpoint_state (endpoint_id, app_version_name) SELECT 'bulk-' || i, 'bulk-v' || (i % 2) FROM generate_series(1, 600) i`;
    await createBatch(db.sql, {
      tenantId: 'kaa',
      commandType: 'SWITCH',
      filterId: null,
      payload: null,
      ttlMillis: 60_000,
      endpoints: Array.from({ length: 600 }, (_, i) => ({ endpointId: `bulk-${i + 1}`, appVersionName: null })),
    });
    expect(await total('bulk')).toBe(600);
    // A batch of 250: full, full, the rest, nothing.
    const folds: number[] = [];
    for (let n = -1; n !== 0;) folds.push((n = await foldApplicationTotals(db.sql, 250)));
    expect(folds).toEqual([250, 250, 100, 0]);
    const rows = await db.sql<{ n: string }[]>`SELECT n FROM application_totals WHERE application_name = 'bulk'`;
    expect(rows.map((r) => Number(r.n))).toEqual([600]);
    expect(await total('bulk', { statuses: ['PENDING'], commandTypes: ['SWITCH'] })).toBe(600);

    await make({ endpointId: 'bulk-1' });
    await db.sql`TRUNCATE commands`;
    expect(await total('bulk')).toBe(0);
    const [left] = await db.sql<{ n: number }[]>`
      SELECT (SELECT count(*) FROM application_totals) + (SELECT count(*) FROM application_total_deltas) AS n`;
    expect(Number(left!.n)).toBe(0);
  });

  it('stay exact in every snapshot while two replicas create, record, expire, delete and fold concurrently', async () => {
    const replicas = [
      createPool(db.url, { max: 4, applicationName: 'replica-a' }),
      createPool(db.url, { max: 4, applicationName: 'replica-b' }),
    ];
    try {
      await db.sql`INSERT INTO endpoint_state (endpoint_id, app_version_name) SELECT 'c-' || i, 'app' || (i % 3) || '-v1' FROM generate_series(0, 19) i`;
      let stop = false;
      const done = { created: 0, recorded: 0, moved: 0, deleted: 0, expired: 0, purged: 0, folded: 0 };
      const writer = async (sql: Sql, w: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          const endpointId = `c-${(w * 7 + i) % 20}`;
          const commandType = i % 2 === 0 ? 'reboot' : 'SWITCH';
          const { command, created } = await createCommand(sql, {
            tenantId: 'kaa',
            endpointId,
            commandType,
            payload: i,
            ttlMillis: i % 5 === 0 ? 1 : 60_000,
            awaitTimeoutSeconds: 5,
            origin: 'rest',
          });
          if (created) done.created++;
          if (i % 3 === 0) {
            // A result that sometimes reports another application's version.
            const version = i % 6 === 0 ? `app${(w + i + 1) % 3}-v2` : null;
            const out = await recordResults(
              sql,
              endpointId,
              commandType,
              [{ commandId: command.commandId, statusCode: 200 }],
              version,
              false,
            );
            const executed = out.executed[0];
            if (executed) done.recorded++;
            if (executed && executed.applicationName !== command.applicationName) done.moved++;
          } else if (i % 7 === 0) {
            if ((await deleteCommand(sql, 'kaa', command)).deleted) done.deleted++;
          }
        }
      };
      const sweeper = async (sql: Sql): Promise<void> => {
        while (!stop) done.expired += (await expireDueCommands(sql, 50)).expired.length;
      };
      const folder = async (sql: Sql): Promise<void> => {
        while (!stop) {
          done.folded += await foldApplicationTotals(sql, 40);
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      const work = [
        ...replicas.flatMap((sql, r) => [writer(sql, r * 2), writer(sql, r * 2 + 1), sweeper(sql), folder(sql)]),
        // Retention purge with no retention at all: every finished command goes.
        (async () => {
          while (!stop) {
            done.purged += await purgeHistory(replicas[0]!, 0, 20);
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
      ];
      // Readers compare within one snapshot, as a REST request's single statement sees it.
      let snapshots = 0;
      let mismatches: string[] = [];
      const deadline = Date.now() + 4_000;
      try {
        while (Date.now() < deadline) {
          const compared = await db.sql.begin('isolation level repeatable read', (tx) => compareAll(tx as unknown as Sql));
          mismatches = mismatches.concat(compared.filter((c) => c.total !== c.counted).map((c) => `${c.key}: ${c.total} != ${c.counted}`));
          snapshots++;
        }
      } finally {
        stop = true;
        await Promise.all(work);
      }
      expect(mismatches).toEqual([]);
      expect(snapshots).toBeGreaterThan(3);
      // Every kind of change happened during the run.
      for (const [kind, count] of Object.entries(done)) expect(count, kind).toBeGreaterThan(0);
      await expectExact();
    } finally {
      await Promise.all(replicas.map((r) => r.end()));
    }
  });
});

describe('migration 0006', () => {
  it('counts the commands stored before it', async () => {
    const adminUrl = inject('pgAdminUrl');
    const admin = createPool(adminUrl, { max: 1, applicationName: 'cex-test-totals-migrate' });
    const name = `${inject('pgDbPrefix')}_totals_${randomBytes(4).toString('hex')}`;
    await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
    const sql = createPool(databaseUrl(adminUrl, name), { max: 1, applicationName: 'cex-test-totals-migrate' });
    try {
      const before = await mkdtemp(path.join(tmpdir(), 'cex-migrations-'));
      for (const file of await readdir(MIGRATIONS_DIR)) {
        if (file.endsWith('.sql') && Number(file.slice(0, 4)) < 6) await cp(path.join(MIGRATIONS_DIR, file), path.join(before, file));
      }
      await migrate(sql, undefined, before);
      await sql`
        INSERT INTO commands (endpoint_id, command_type, command_id, tenant_id, status, expires_at, ttl_millis, application_name)
        SELECT 'm-' || (i % 10), CASE WHEN i % 4 = 0 THEN 'SWITCH' ELSE 'reboot' END, i, CASE WHEN i % 5 = 0 THEN 'other' ELSE 'kaa' END,
               CASE WHEN i % 3 = 0 THEN 'EXECUTED' ELSE 'PENDING' END, now() + interval '1 hour', 60000,
               CASE WHEN i % 7 = 0 THEN NULL ELSE 'app' || (i % 2) END
          FROM generate_series(1, 500) AS i`;
      expect(await migrate(sql)).toContain(6);
      const compared = await compareAll(sql);
      expect(compared.length).toBeGreaterThan(FILTERS.length * 4);
      for (const c of compared) expect(c.total, c.key).toBe(c.counted);
    } finally {
      await sql.end();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      await admin.end();
    }
  });
});
