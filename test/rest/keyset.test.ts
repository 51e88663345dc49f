import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { noteAppVersion, recordResults } from '../../shared/store/index.js';
import { applicationPageSchema } from '../../shared/rest/index.js';

/**
 * Keyset paging of GET /endpoints/commands/{applicationName} with ties: the
 * commands of one batch share created_at (one transaction), the results of
 * one message share updated_at, and commandId 1 repeats on every endpoint.
 * Every walk by nextCursor must return each row exactly once.
 */
let db: TestDatabase;
let host: RestHost;
const endpoints = Array.from({ length: 50 }, (_, i) => `walk-${String(i).padStart(2, '0')}`);

async function batch(type: string, endpointIds: string[]): Promise<void> {
  const res = await fetch(`${host.url}/api/v1/endpoints/commands/${type}/batch/by-endpoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ endpointIds, payload: null }),
  });
  expect(res.status).toBe(202);
}

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
  // Two versions of one application: equal timestamps across endpoints and versions.
  for (const [i, id] of endpoints.entries()) await noteAppVersion(db.sql, id, i % 2 ? 'walk-v1' : 'walk-v2');
  await batch('reboot', endpoints);
  await batch('reboot', endpoints.slice(0, 10));
  await batch('blink', endpoints.slice(5, 25));
  // 12 results, then one updated_at for all of them, as results recorded in
  // one transaction would have: ties in updatedAt across endpoints.
  for (const id of endpoints.slice(0, 12)) await recordResults(db.sql, id, 'reboot', [{ commandId: 1, statusCode: 200 }]);
  await db.sql`UPDATE commands SET updated_at = date_trunc('second', now()) + interval '123457 microseconds'
                WHERE status = 'EXECUTED' AND command_type = 'reboot'`;
}, 60_000);
afterAll(async () => {
  await host.stop();
  await db.drop();
});

type Page = { content: { endpointId: string; commandType: string; commandId: number }[]; nextCursor: string | null; totalElements: number };

async function page(query: string): Promise<Page> {
  const res = await fetch(`${host.url}/api/v1/endpoints/commands/walk?${query}`);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return applicationPageSchema.parse(body) as Page;
}

const key = (c: Page['content'][number]) => `${c.endpointId}/${c.commandType}/${c.commandId}`;

/** Walks by nextCursor with `size`; `between` runs after each page. */
async function walk(query: string, size: number, between: () => Promise<void> = async () => undefined): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const p: Page = await page(`${query}&size=${size}${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...p.content.map(key));
    await between();
    cursor = p.nextCursor;
    if (!cursor) return seen;
  }
  throw new Error(`no end of the walk after 200 pages (${seen.length} rows, ${new Set(seen).size} distinct)`);
}

const SORTS = ['createdAt,asc', 'createdAt,desc', 'updatedAt,asc', 'updatedAt,desc', 'commandId,asc', 'commandId,desc'];
const FILTERS = ['', 'status=PENDING', 'commandTypes=reboot', 'status=EXECUTED,PENDING&commandTypes=blink,reboot'];

describe('keyset paging with ties', () => {
  it('walks the 50 commands of one batch by size=3 and gets all 50 (default sort)', async () => {
    const all = await page('commandTypes=reboot&size=1000');
    const seen = await walk('commandTypes=reboot', 3);
    expect(all.totalElements).toBe(60);
    expect(seen).toHaveLength(60);
    expect(seen).toEqual(all.content.map(key));
  });

  it.each(SORTS.flatMap((sort) => FILTERS.map((filter) => [sort, filter])))(
    'sort=%s, filter "%s": every row exactly once, in the order of one big page',
    async (sort, filter) => {
      const query = `sort=${sort}${filter ? `&${filter}` : ''}`;
      const all = (await page(`${query}&size=1000`)).content.map(key);
      expect(all.length).toBeGreaterThan(10);
      // Size 1 puts every tie on a page boundary; 3 and 7 cut ties in the middle.
      for (const size of filter ? [3] : [1, 7]) expect(await walk(query, size), `size ${size}`).toEqual(all);
    },
  );

  it.each(SORTS)('sort=%s: rows inserted between pages do not make the walk skip or repeat a row', async (sort) => {
    const before = new Set((await page(`sort=${sort}&size=1000`)).content.map(key));
    let round = 0;
    const seen = await walk(`sort=${sort}`, 4, async () => {
      // A new batch (tied timestamps again) on endpoints already listed.
      if (round++ < 5) await batch(`ins-${sort.replace(',', '-')}`, endpoints.slice(round * 3, round * 3 + 3));
    });
    expect(seen.length).toBe(new Set(seen).size);
    for (const k of before) expect(seen, k).toContain(k);
  });
});
