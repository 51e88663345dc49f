import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createCommand,
  listApplicationPage,
  listEndpointHistory,
  noteAppVersion,
  readEndpointState,
  recordResults,
  setObserve,
  setOnline,
  takeOutstanding,
  type KeysetPosition,
  type NewCommand,
} from '../../shared/store/index.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
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

describe('takeOutstanding', () => {
  it('returns outstanding commands oldest first and marks them fetched', async () => {
    await make({ payload: 'a' });
    await make({ payload: 'b' });
    await make({ commandType: 'SWITCH', payload: 'c' });
    await make({ ttlMillis: 0, payload: 'push-once' });
    const expiring = await make({ ttlMillis: 1, payload: 'expiring' });
    const done = await make({ payload: 'done' });
    await recordResults(db.sql, 'e-1', 'reboot', [{ commandId: done.command.commandId, statusCode: 200 }]);
    await untilDatabaseTimePasses(db.sql, expiring.command.expiresAt);
    const reboot = await takeOutstanding(db.sql, 'e-1', 'reboot');
    expect(reboot.map((c) => c.payload)).toEqual(['a', 'b']);
    const all = await takeOutstanding(db.sql, 'e-1', null);
    expect(all.map((c) => [c.commandType, c.payload])).toEqual([
      ['reboot', 'a'],
      ['reboot', 'b'],
      ['SWITCH', 'c'],
    ]);
    const [fetched] = await db.sql`SELECT count(*)::int AS n FROM commands WHERE fetched_at IS NOT NULL`;
    expect(fetched!.n).toBe(3);
    expect(await takeOutstanding(db.sql, 'e-2', null)).toEqual([]);
  });
});

describe('listEndpointHistory', () => {
  it('lists each endpoint newest first, filtered, limited, in request order, for the tenant only', async () => {
    for (let i = 0; i < 5; i++) await make();
    await make({ commandType: 'SWITCH' });
    await make({ endpointId: 'e-2' });
    await make({ endpointId: 'e-1', tenantId: 'other', commandType: 'x' });
    const history = await listEndpointHistory(db.sql, 'kaa', ['e-2', 'e-1', 'e-none'], {}, 3);
    expect([...history.keys()]).toEqual(['e-2', 'e-1', 'e-none']);
    expect(history.get('e-1')!.map((c) => [c.commandType, c.commandId])).toEqual([
      ['SWITCH', 1],
      ['reboot', 5],
      ['reboot', 4],
    ]);
    expect(history.get('e-none')).toEqual([]);
    const filtered = await listEndpointHistory(db.sql, 'kaa', ['e-1'], { commandTypes: ['reboot'], statuses: ['PENDING'] }, 100);
    expect(filtered.get('e-1')!.map((c) => c.commandId)).toEqual([5, 4, 3, 2, 1]);
    const executed = await listEndpointHistory(db.sql, 'kaa', ['e-1'], { statuses: ['EXECUTED'] }, 100);
    expect(executed.get('e-1')).toEqual([]);
  });
});

describe('listApplicationPage', () => {
  it('returns every command exactly once across keyset pages while new commands arrive', async () => {
    await noteAppVersion(db.sql, 'e-1', 'meter-v1');
    await noteAppVersion(db.sql, 'e-2', 'meter-v2');
    for (let i = 0; i < 30; i++) await make({ endpointId: i % 2 ? 'e-1' : 'e-2' });
    const seen: string[] = [];
    let after: KeysetPosition | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await listApplicationPage(db.sql, {
        tenantId: 'kaa',
        applicationName: 'meter',
        sort: 'createdAt',
        order: 'desc',
        size: 7,
        after,
      });
      seen.push(...result.rows.map((c) => `${c.endpointId}/${c.commandId}`));
      // New commands land at the head of a newest-first list: never in a later page.
      await make({ endpointId: 'e-1' });
      if (!result.hasMore) break;
      after = result.last;
    }
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
  });

  it('pages by offset with any sort and filters by application and tenant', async () => {
    await noteAppVersion(db.sql, 'e-1', 'meter-v1');
    await noteAppVersion(db.sql, 'e-3', 'lamp-v1');
    for (let i = 0; i < 5; i++) await make();
    await make({ endpointId: 'e-3' });
    const asc = await listApplicationPage(db.sql, {
      tenantId: 'kaa',
      applicationName: 'meter',
      sort: 'commandId',
      order: 'asc',
      size: 2,
      offset: 2,
    });
    expect(asc.rows.map((c) => c.commandId)).toEqual([3, 4]);
    expect(asc.hasMore).toBe(true);
    const other = await listApplicationPage(db.sql, {
      tenantId: 'nobody',
      applicationName: 'meter',
      sort: 'createdAt',
      order: 'desc',
      size: 10,
    });
    expect(other.rows).toEqual([]);
    const lamp = await listApplicationPage(db.sql, {
      tenantId: 'kaa',
      applicationName: 'lamp',
      sort: 'updatedAt',
      order: 'desc',
      size: 10,
    });
    expect(lamp.rows.map((c) => c.endpointId)).toEqual(['e-3']);
  });
});

describe('endpoint state', () => {
  it('remembers the app version and reports the previous one', async () => {
    expect(await noteAppVersion(db.sql, 'e-9', 'v1')).toBeNull();
    expect(await noteAppVersion(db.sql, 'e-9', 'v1')).toBe('v1');
    expect(await noteAppVersion(db.sql, 'e-9', 'v2')).toBe('v1');
    expect((await readEndpointState(db.sql, 'e-9', 'reboot')).appVersionName).toBe('v2');
  });

  it('resolves observe per type, then all types, then true', async () => {
    expect((await readEndpointState(db.sql, 'e-8', 'reboot')).observes).toBe(true);
    await setObserve(db.sql, 'e-8', '*', false);
    expect((await readEndpointState(db.sql, 'e-8', 'reboot')).observes).toBe(false);
    await setObserve(db.sql, 'e-8', 'reboot', true);
    expect((await readEndpointState(db.sql, 'e-8', 'reboot')).observes).toBe(true);
    expect((await readEndpointState(db.sql, 'e-8', 'SWITCH')).observes).toBe(false);
  });

  it('marks endpoints online and offline, keeping a known version when none is given', async () => {
    await setOnline(
      db.sql,
      new Map([
        ['e-7', 'v3'],
        ['e-6', ''],
      ]),
      true,
    );
    expect(await readEndpointState(db.sql, 'e-7', 'x')).toMatchObject({ online: true, appVersionName: 'v3' });
    await setOnline(db.sql, new Map([['e-7', '']]), false);
    expect(await readEndpointState(db.sql, 'e-7', 'x')).toMatchObject({ online: false, appVersionName: 'v3' });
    expect(await readEndpointState(db.sql, 'e-6', 'x')).toMatchObject({ online: true, appVersionName: null });
  });
});
