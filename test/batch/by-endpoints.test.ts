import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { otherInstance, startRestHost, type RestHost } from '../helpers/rest-host.js';
import { expireDue, recordEndpointResults } from '../../shared/commands/index.js';
import { batchTaskPageSchema, batchTaskSchema } from '../../shared/rest/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { snapshotTables } from '../helpers/snapshot.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

let db: TestDatabase;
let host: RestHost;
let device: Runtime;
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db, { CEX_MAX_PAYLOAD_BYTES: '2048' });
  device = otherInstance(db);
});
afterAll(async () => {
  await host.stop();
  await device.shutdown();
  await db.drop();
});

const ids = (n: number, prefix = `b${++seq}`) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function byEndpoints(type: string, body: unknown, query = '', contentType = 'application/json') {
  return fetch(`${host.url}/api/v1/endpoints/commands/${type}/batch/by-endpoints${query}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function task(taskId: string) {
  const res = await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks/${taskId}`);
  expect(res.status).toBe(200);
  return batchTaskSchema.parse(await res.json());
}

describe('by-endpoints: validation', () => {
  it.each([
    ['no body', 'reboot', '', '', 'application/json', 400, 'INVALID_BODY'],
    ['text/plain', 'reboot', 'hello', '', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['invalid JSON', 'reboot', '{"endpointIds": [', '', 'application/json', 400, 'INVALID_JSON'],
    ['an array', 'reboot', '["e-1"]', '', 'application/json', 400, 'INVALID_BODY'],
    ['no endpointIds', 'reboot', { payload: 1 }, '', 'application/json', 400, 'INVALID_ENDPOINT_IDS'],
    ['empty endpointIds', 'reboot', { endpointIds: [] }, '', 'application/json', 400, 'INVALID_ENDPOINT_IDS'],
    ['10,001 ids', 'reboot', { endpointIds: ids(10_001) }, '', 'application/json', 400, 'INVALID_ENDPOINT_IDS'],
    ['an id with a slash', 'reboot', { endpointIds: ['ok-1', 'a/b'] }, '', 'application/json', 400, 'INVALID_ENDPOINT_IDS'],
    ['an id too long', 'reboot', { endpointIds: ['e'.repeat(129)] }, '', 'application/json', 400, 'INVALID_ENDPOINT_IDS'],
    ['a number as id', 'reboot', { endpointIds: [42] }, '', 'application/json', 400, 'INVALID_ENDPOINT_IDS'],
    ['endpointIds not an array', 'reboot', { endpointIds: 'e-1' }, '', 'application/json', 400, 'INVALID_ENDPOINT_IDS'],
    ['an unknown key', 'reboot', { endpointIds: ['e-1'], extra: true }, '', 'application/json', 400, 'INVALID_BODY'],
    ['payload too large', 'reboot', { endpointIds: ['e-1'], payload: 'x'.repeat(3000) }, '', 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
    ['bad command type', 're.boot', { endpointIds: ['e-1'] }, '', 'application/json', 400, 'INVALID_COMMAND_TYPE'],
    ['commandTtl negative', 'reboot', { endpointIds: ['e-1'] }, '?commandTtl=-1', 'application/json', 400, 'INVALID_COMMAND_TTL'],
    ['commandTtl text', 'reboot', { endpointIds: ['e-1'] }, '?commandTtl=soon', 'application/json', 400, 'INVALID_COMMAND_TTL'],
  ])('%s → %s', async (_name, type, body, query, contentType, status, code) => {
    const before = await db.sql<
      { n: number }[]
    >`SELECT (SELECT count(*) FROM commands)::int + (SELECT count(*) FROM batch_tasks)::int AS n`;
    const res = await byEndpoints(type as string, body, query as string, contentType as string);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe(code);
    const after = await db.sql<{ n: number }[]>`SELECT (SELECT count(*) FROM commands)::int + (SELECT count(*) FROM batch_tasks)::int AS n`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('is matched before invoke: …/commands/commands/batch is a batch of type "commands", not an invoke', async () => {
    const res = await fetch(`${host.url}/api/v1/endpoints/commands/commands/batch`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('INVALID_FILTER_ID');
    const byIds = await byEndpoints('batch', { endpointIds: ['route-1'] });
    expect(byIds.status).toBe(202);
    const [row] = await db.sql`SELECT origin, command_type FROM commands WHERE endpoint_id = 'route-1'`;
    expect(row).toEqual({ origin: 'batch', command_type: 'batch' });
  });
});

describe('by-endpoints: one command and one push row per endpoint, in bulk', () => {
  it('creates the task, the commands (ids per endpoint and type) and coalesced push rows; repeats count once', async () => {
    const endpoints = ids(50);
    // One endpoint already has a reboot command: its batch command gets the next id.
    await fetch(`${host.url}/api/v1/endpoints/${endpoints[0]}/commands/reboot?awaitTimeout=0`, { method: 'POST' });
    const res = await byEndpoints(
      'reboot',
      { payload: { at: 'night' }, endpointIds: [...endpoints, endpoints[1], endpoints[2]] },
      '?commandTtl=30000',
    );
    expect(res.status).toBe(202);
    const { taskId } = (await res.json()) as { taskId: string };
    expect(res.headers.get('location')).toBe(`/api/v1/endpoints/commands/batch/tasks/${taskId}`);

    const rows = await db.sql<{ endpoint_id: string; command_id: number; origin: string; ttl_millis: number; request_payload: unknown }[]>`
      SELECT endpoint_id, command_id, origin, ttl_millis, request_payload FROM commands WHERE batch_task_id = ${taskId}::uuid ORDER BY endpoint_id`;
    expect(rows).toHaveLength(50);
    expect(new Set(rows.map((r) => r.endpoint_id))).toEqual(new Set(endpoints));
    for (const r of rows) expect(r).toMatchObject({ origin: 'batch', ttl_millis: 30_000, request_payload: { at: 'night' } });
    expect(rows.find((r) => r.endpoint_id === endpoints[0])!.command_id).toBe(2);
    expect(rows.filter((r) => r.endpoint_id !== endpoints[0]).every((r) => r.command_id === 1)).toBe(true);
    const [pushes] = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM outbox WHERE kind = 'push' AND endpoint_id = ANY(${endpoints}::text[]) AND command_type = 'reboot'`;
    expect(pushes!.n).toBe(50);

    const t = await task(taskId);
    expect(t).toMatchObject({ taskId, commandType: 'reboot', filterId: null, pendingCount: 50, executedCount: 0, expiredCount: 0 });
    expect(t.pending).toHaveLength(50);
  });

  it('keeps the task counts in step with results, expiries and deletes', async () => {
    const endpoints = ids(6);
    // A TTL long enough to record the results first on a busy host (300 ms was
    // not: a result past expiry is refused 410 and the counts differed).
    const res = await byEndpoints('blink', { endpointIds: endpoints }, '?commandTtl=5000');
    const { taskId } = (await res.json()) as { taskId: string };
    await recordEndpointResults(device, endpoints[0]!, 'blink', [{ commandId: 1, statusCode: 200 }], null);
    await recordEndpointResults(device, endpoints[1]!, 'blink', [{ commandId: 1, statusCode: 500, reasonPhrase: 'failed' }], null);
    await fetch(`${host.url}/api/v1/endpoints/${endpoints[2]}/commands/blink/1`, { method: 'DELETE' });
    let t = await task(taskId);
    expect([t.pendingCount, t.executedCount, t.expiredCount]).toEqual([3, 2, 0]);
    expect(t.executed.map((p) => p.endpointId).sort()).toEqual([endpoints[0], endpoints[1]].sort());
    // Their TTL over (the database's clock), the sweeper expires them.
    const [due] = await db.sql<
      { at: Date }[]
    >`SELECT max(expires_at) AS at FROM commands WHERE command_type = 'blink' AND endpoint_id = ANY(${endpoints})`;
    await untilDatabaseTimePasses(db.sql, due!.at);
    await expireDue(device);
    t = await task(taskId);
    expect([t.pendingCount, t.executedCount, t.expiredCount]).toEqual([0, 2, 3]);
    expect(t.expired).toEqual([3, 4, 5].map((i) => ({ endpointId: endpoints[i], commandId: 1 })));
  });

  it('accepts 10,000 endpoints in one request (timing printed)', async () => {
    const endpoints = ids(10_000);
    const timings: number[] = [];
    for (const round of [0, 1]) {
      const started = performance.now();
      const res = await byEndpoints(`fw${round}`, { payload: { firmware: '1.2.3' }, endpointIds: endpoints });
      timings.push(performance.now() - started);
      expect(res.status).toBe(202);
    }
    const [count] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE command_type IN ('fw0', 'fw1')`;
    expect(count!.n).toBe(20_000);
    process.stdout.write(
      `\nbatch by-endpoints, 10,000 endpoints (HTTP request to 202, one transaction): ` +
        `${timings.map((t) => `${t.toFixed(0)} ms`).join(', ')} → ${Math.round(10_000 / (Math.min(...timings) / 1000)).toLocaleString('en')} commands/s\n`,
    );
  });
});

describe('batch tasks: reads', () => {
  it('answers 400 for a task id that is not a UUID and 404 for an unknown or another tenant’s task', async () => {
    const bad = await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks/not-a-uuid`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('INVALID_TASK_ID');
    const unknown = await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks/00000000-0000-4000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('TASK_NOT_FOUND');
    const [other] = await db.sql<{ id: string }[]>`
      INSERT INTO batch_tasks (tenant_id, command_type, endpoint_count) VALUES ('other-tenant', 'secret', 0) RETURNING task_id::text AS id`;
    expect((await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks/${other!.id}`)).status).toBe(404);
    const list = batchTaskPageSchema.parse(await (await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks?limit=100`)).json());
    expect(list.content.map((t) => t.taskId)).not.toContain(other!.id);
  });

  it('lists tasks newest first by default, filters by type, sorts and pages', async () => {
    const made: string[] = [];
    for (const type of ['zz-a', 'zz-b', 'zz-a']) {
      const res = await byEndpoints(type, { payload: type, endpointIds: ids(2) });
      made.push(((await res.json()) as { taskId: string }).taskId);
    }
    const get = async (q: string) => {
      const res = await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks${q}`);
      expect(res.status).toBe(200);
      return batchTaskPageSchema.parse(await res.json());
    };
    const onlyA = await get('?commandType=zz-a');
    expect(onlyA.totalElements).toBe(2);
    expect(onlyA.content.map((t) => t.taskId)).toEqual([made[2], made[0]]);
    expect(onlyA.content[0]).toMatchObject({
      commandType: 'zz-a',
      requestPayload: 'zz-a',
      pendingCount: 2,
      executedCount: 0,
      expiredCount: 0,
    });
    const asc = await get('?commandType=zz-a&sortOrder=asc&limit=1&offset=1');
    expect(asc.content.map((t) => t.taskId)).toEqual([made[2]]);
    const byType = await get('?sortBy=commandType&sortOrder=desc&limit=1');
    expect(byType.content[0]!.commandType >= 'zz-b').toBe(true);
    for (const [q, code] of [
      ['?limit=0', 'INVALID_LIMIT'],
      ['?sortBy=size', 'INVALID_SORT_BY'],
      ['?sortOrder=up', 'INVALID_SORT_ORDER'],
      ['?offset=-1', 'INVALID_OFFSET'],
    ]) {
      const res = await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe(code);
    }
  });
});

describe('batch by filter without a reachable bridge', () => {
  it('answers 503 BRIDGE_UNAVAILABLE and stores nothing', async () => {
    const lonely = await startRestHost(db, { CEX_BRIDGE_URL: 'http://127.0.0.1:1' });
    try {
      const res = await fetch(`${lonely.url}/api/v1/endpoints/commands/reboot/batch?filterId=f-1`, { method: 'POST' });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe('BRIDGE_UNAVAILABLE');
      expect(await db.sql`SELECT 1 FROM batch_tasks WHERE filter_id = 'f-1'`).toHaveLength(0);
    } finally {
      await lonely.stop();
    }
  });
});

describe('by-endpoints: atomicity', () => {
  // A failure injected in the database itself: a trigger refusing one row in
  // the middle of the batch's insert (this file's own database clone).
  it('stores nothing when a row in the middle fails, and everything once it no longer does', async () => {
    const endpoints = ids(5_000, 'atomic');
    await db.sql.unsafe(`
      CREATE FUNCTION test_refuse_atomic_2500() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.endpoint_id = 'atomic-2500' THEN RAISE EXCEPTION 'injected failure at %', NEW.endpoint_id; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_refuse_atomic BEFORE INSERT ON commands FOR EACH ROW EXECUTE FUNCTION test_refuse_atomic_2500();`);
    const before = await snapshotTables(db.sql);
    try {
      const res = await byEndpoints('atomic', { payload: { v: 1 }, endpointIds: endpoints });
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toMatch(/^[A-Z_]+$/);
      // Not one command, push row, counter or task of the 2,500 before the failure.
      expect(await snapshotTables(db.sql)).toEqual(before);
    } finally {
      await db.sql.unsafe('DROP TRIGGER test_refuse_atomic ON commands; DROP FUNCTION test_refuse_atomic_2500()');
    }
    const res = await byEndpoints('atomic', { payload: { v: 1 }, endpointIds: endpoints });
    expect(res.status).toBe(202);
    const [stored] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE command_type = 'atomic'`;
    expect(stored!.n).toBe(5_000);
  });
});
