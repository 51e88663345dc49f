import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { createCommand, noteAppVersion, recordResults } from '../../shared/store/index.js';
import { applicationPageSchema, endpointHistorySchema } from '../../shared/rest/index.js';

let db: TestDatabase;
let host: RestHost;
const create = (endpointId: string, commandType = 'reboot', tenantId = 'kaa') =>
  createCommand(db.sql, {
    tenantId,
    endpointId,
    commandType,
    payload: null,
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 0,
    origin: 'rest',
  });

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
  await noteAppVersion(db.sql, 'm-1', 'meter-v1');
  await noteAppVersion(db.sql, 'm-2', 'meter-v2');
  await noteAppVersion(db.sql, 'l-1', 'lamp-v1');
  for (let i = 0; i < 4; i++) await create('m-1');
  await create('m-1', 'SWITCH');
  for (let i = 0; i < 3; i++) await create('m-2');
  await create('l-1');
  await create('m-1', 'secret', 'other-tenant');
  await recordResults(db.sql, 'm-1', 'reboot', [{ commandId: 2, statusCode: 200 }]);
});
afterAll(async () => {
  await host.stop();
  await db.drop();
});

async function get(path: string) {
  const res = await fetch(`${host.url}/api/v1/endpoints/commands${path}`);
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
}

describe('GET /endpoints/commands', () => {
  it('lists each endpoint newest first, in request order, one element per endpoint', async () => {
    const { status, body } = await get('?endpointId=m-2&endpointId=m-1,none');
    expect(status).toBe(200);
    endpointHistorySchema.parse(body);
    expect(body.map((e: any) => e.endpointId)).toEqual(['m-2', 'm-1', 'none']);
    expect(body[1].commands.map((c: any) => [c.commandType, c.commandId])).toEqual([
      ['SWITCH', 1],
      ['reboot', 4],
      ['reboot', 3],
      ['reboot', 2],
      ['reboot', 1],
    ]);
    expect(body[2].commands).toEqual([]);
  });

  it('filters by commandTypes and status, and limits per endpoint', async () => {
    expect((await get('?endpointId=m-1&commandTypes=SWITCH')).body[0].commands).toHaveLength(1);
    expect((await get('?endpointId=m-1&status=EXECUTED')).body[0].commands.map((c: any) => c.commandId)).toEqual([2]);
    expect((await get('?endpointId=m-1&status=PENDING,EXPIRED&commandTypes=reboot')).body[0].commands).toHaveLength(3);
    const limited = await get('?endpointId=m-1,m-2&limit=2');
    expect(limited.body.map((e: any) => e.commands.length)).toEqual([2, 2]);
  });

  it('pages each endpoint by offset (newest first)', async () => {
    const second = await get('?endpointId=m-1,m-2&limit=2&offset=2');
    expect(second.body[0].commands.map((c: any) => [c.commandType, c.commandId])).toEqual([
      ['reboot', 3],
      ['reboot', 2],
    ]);
    expect(second.body[1].commands.map((c: any) => c.commandId)).toEqual([1]);
    expect((await get('?endpointId=m-1&offset=5')).body[0].commands).toEqual([]);
  });

  it("never shows another tenant's commands", async () => {
    const all = await get('?endpointId=m-1&commandTypes=secret');
    expect(all.body[0].commands).toEqual([]);
  });

  it.each([
    ['', 'INVALID_ENDPOINT_ID'],
    ['?endpointId=', 'INVALID_ENDPOINT_ID'],
    ['?endpointId=bad%20id', 'INVALID_ENDPOINT_ID'],
    [`?endpointId=${Array.from({ length: 101 }, (_, i) => `e${i}`).join(',')}`, 'INVALID_ENDPOINT_ID'],
    ['?endpointId=m-1&limit=0', 'INVALID_LIMIT'],
    ['?endpointId=m-1&limit=1001', 'INVALID_LIMIT'],
    ['?endpointId=m-1&offset=-1', 'INVALID_OFFSET'],
    ['?endpointId=m-1&status=DONE', 'INVALID_STATUS'],
    ['?endpointId=m-1&status=pending', 'INVALID_STATUS'],
    ['?endpointId=m-1&commandTypes=a.b', 'INVALID_COMMAND_TYPES'],
    ['?endpointId=m-1&commandTypes=a,,b', 'INVALID_COMMAND_TYPES'],
  ])('answers 400 for %s', async (query, code) => {
    const { status, type, body } = await get(query);
    expect(status).toBe(400);
    expect(type).toBe('application/problem+json');
    expect(body.code).toBe(code);
  });

  it('accepts exactly 100 endpoints and limit 1000', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `e${i}`).join(',');
    const { status, body } = await get(`?endpointId=${ids}&limit=1000`);
    expect(status).toBe(200);
    expect(body).toHaveLength(100);
  });
});

describe('GET /endpoints/commands/{applicationName}', () => {
  it('pages by page/size with totals and the default sort createdAt,desc', async () => {
    const first = await get('/meter?size=3');
    expect(first.status).toBe(200);
    applicationPageSchema.parse(first.body);
    expect(first.body).toMatchObject({ page: 0, size: 3, totalElements: 8, totalPages: 3 });
    expect(first.body.content.map((c: any) => `${c.endpointId}/${c.commandId}`)).toEqual(['m-2/3', 'm-2/2', 'm-2/1']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const last = await get('/meter?size=3&page=2');
    expect(last.body.content).toHaveLength(2);
    expect(last.body.nextCursor).toBeNull();
    const beyond = await get('/meter?size=3&page=9');
    expect(beyond.body.content).toEqual([]);
  });

  it('sorts by each field and order', async () => {
    const byId = await get('/meter?sort=commandId,asc&size=20');
    const ids = byId.body.content.map((c: any) => c.commandId);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
    const updated = await get('/meter?sort=updatedAt,desc&size=1');
    expect(updated.body.content[0]).toMatchObject({ endpointId: 'm-1', commandId: 2 });
    expect((await get('/meter?sort=createdAt')).status).toBe(200);
  });

  it('filters by status and commandTypes, and by tenant', async () => {
    expect((await get('/meter?status=EXECUTED')).body.totalElements).toBe(1);
    expect((await get('/meter?commandTypes=SWITCH')).body.totalElements).toBe(1);
    expect((await get('/lamp')).body.totalElements).toBe(1);
    expect((await get('/unknown-app')).body).toMatchObject({ totalElements: 0, content: [], nextCursor: null });
  });

  it('walks every command exactly once with nextCursor while new commands arrive', async () => {
    const seen: string[] = [];
    const totals = new Set<number>();
    let path = '/meter?size=2';
    for (let i = 0; i < 20; i++) {
      const { body } = await get(path);
      totals.add(body.totalElements);
      seen.push(...body.content.map((c: any) => `${c.endpointId}/${c.commandType}/${c.commandId}`));
      await create('m-1');
      if (!body.nextCursor) break;
      path = `/meter?size=2&cursor=${body.nextCursor}`;
    }
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    // Cursor pages carry the first page's count: one total for the whole walk.
    expect([...totals]).toEqual([8]);
  });

  it.each([
    ['?page=-1', 'INVALID_PAGE'],
    ['?size=0', 'INVALID_SIZE'],
    ['?size=1001', 'INVALID_SIZE'],
    ['?sort=name,asc', 'INVALID_SORT'],
    ['?sort=createdAt,up', 'INVALID_SORT'],
    ['?cursor=garbage', 'INVALID_CURSOR'],
    ['?status=NOPE', 'INVALID_STATUS'],
  ])('answers 400 for %s', async (query, code) => {
    const { status, body } = await get(`/meter${query}`);
    expect(status).toBe(400);
    expect(body.code).toBe(code);
  });

  it('refuses a cursor under another sort or filter', async () => {
    const { body } = await get('/meter?size=1');
    expect((await get(`/meter?size=1&sort=commandId,desc&cursor=${body.nextCursor}`)).body.code).toBe('INVALID_CURSOR');
    expect((await get(`/meter?size=1&status=PENDING&cursor=${body.nextCursor}`)).body.code).toBe('INVALID_CURSOR');
  });
});
