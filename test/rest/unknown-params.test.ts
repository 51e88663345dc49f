import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { closest } from '../../shared/text/index.js';

/** A typo in a query parameter is refused, naming it and the parameter meant, and nothing happens. */
let db: TestDatabase;
let host: RestHost;
beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
});
afterAll(async () => {
  await host.stop();
  await db.drop();
});

async function problem(path: string, method = 'GET') {
  const res = await fetch(`${host.url}/api/v1${path}`, { method });
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return { status: res.status, body: (await res.json()) as { code: string; detail: string } };
}

describe('unknown query parameters', () => {
  it('POST …/commands/reboot?awaitTimout=0 answers 400 at once, names both spellings, and stores nothing', async () => {
    const { status, body } = await problem('/endpoints/typo-1/commands/reboot?awaitTimout=0', 'POST');
    expect(status).toBe(400);
    expect(body.code).toBe('UNKNOWN_PARAMETER');
    expect(body.detail).toBe(
      'unknown query parameter "awaitTimout"; did you mean "awaitTimeout"? (this route takes awaitTimeout, commandTtl, callbackUrl)',
    );
    expect(await db.sql`SELECT 1 FROM commands WHERE endpoint_id = 'typo-1'`).toHaveLength(0);
  });

  it.each([
    ['/endpoints/commands?endpointId=e-1&limt=5', 'GET', 'limt', 'limit'],
    ['/endpoints/commands/app-1?sze=5', 'GET', 'sze', 'size'],
    ['/endpoints/commands/app-1?Page=2', 'GET', 'Page', 'page'],
    ['/endpoints/commands/batch/tasks?sortby=createdAt', 'GET', 'sortby', 'sortBy'],
    ['/endpoints/commands/reboot/batch/by-endpoints?commandTTL=5', 'POST', 'commandTTL', 'commandTtl'],
  ])('%s (%s) → names %s and suggests %s', async (path, method, unknown, suggested) => {
    const { status, body } = await problem(path, method);
    expect(status).toBe(400);
    expect(body.code).toBe('UNKNOWN_PARAMETER');
    expect(body.detail).toContain(`unknown query parameter "${unknown}"; did you mean "${suggested}"?`);
  });

  it('refuses any query parameter on a route that takes none, and one with nothing close without a guess', async () => {
    const none = await problem('/endpoints/e-1/commands/reboot/1?verbose=1');
    expect(none.status).toBe(400);
    expect(none.body.detail).toBe('unknown query parameter "verbose" (this route takes no query parameters)');
    const far = await problem('/endpoints/commands?endpointId=e-1&zzzzzz=1');
    expect(far.body.detail).toBe('unknown query parameter "zzzzzz" (this route takes endpointId, commandTypes, status, limit, offset)');
  });

  it('suggests the closest name by edit distance, ignoring case, and nothing when all are far', () => {
    expect(closest('awaitTimout', ['awaitTimeout', 'commandTtl', 'callbackUrl'])).toBe('awaitTimeout');
    expect(closest('SIZE', ['size', 'page', 'sort'])).toBe('size');
    expect(closest('wiat', ['wait', 'ttl'])).toBe('wait');
    expect(closest('x', ['endpointId', 'limit'])).toBeUndefined();
  });
});
