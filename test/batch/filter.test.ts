import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPushes } from '../bridge/helpers.js';
import { eventually, startE2e, type E2e } from '../endpoint/e2e-host.js';
import { uniquePrefix } from '../helpers/nats.js';
import { batchTaskPageSchema, batchTaskSchema } from '../../shared/rest/index.js';
import { startEfmpResponder, type EfmpResponder } from './efmp-responder.js';

/**
 * Batch by filter end to end: the built dev host (every unit and the
 * bridge), a 20/EFMP responder standing in for the endpoint registry on real
 * NATS, and simulated endpoints executing what is pushed to them.
 */
let e2e: E2e;
let registry: EfmpResponder;
const epr = uniquePrefix('epr');

beforeAll(async () => {
  e2e = await startE2e({
    EPR_INSTANCE_NAME: epr,
    CEX_EFMP_TIMEOUT_MS: '1000',
    // No re-push within the test: every endpoint must see exactly one push.
    CEX_REPUSH_INITIAL_MS: '120000',
  });
  registry = await startEfmpResponder(e2e.nc, epr);
}, 90_000);
afterAll(async () => {
  registry?.stop();
  await e2e?.close();
});

function batch(type: string, filterId: string, payload: unknown, ttl?: number) {
  const qs = new URLSearchParams({ filterId, ...(ttl === undefined ? {} : { commandTtl: String(ttl) }) });
  return fetch(`${e2e.host.url}/api/v1/endpoints/commands/${type}/batch?${qs}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

async function task(taskId: string) {
  return batchTaskSchema.parse(await (await fetch(`${e2e.host.url}/api/v1/endpoints/commands/batch/tasks/${taskId}`)).json());
}

async function stored(): Promise<number> {
  const [row] = await e2e.db.sql<
    { n: number }[]
  >`SELECT (SELECT count(*) FROM commands)::int + (SELECT count(*) FROM batch_tasks)::int AS n`;
  return row!.n;
}

describe('batch by filter over 20/EFMP', () => {
  it('resolves 1,000 endpoints once; each gets one command and one push; counts follow results and expiries', async () => {
    const prefix = uniquePrefix('fleet');
    const endpoints = Array.from({ length: 1000 }, (_, i) => `${prefix}-${i}`);
    registry.filters.set('all-meters', { endpoints: { 'fleet-v1': endpoints.slice(0, 600), 'fleet-v2': endpoints.slice(600) } });
    // 800 endpoints execute what they are pushed; 200 never answer and expire.
    const sim = await e2e.simulator({ endpointIds: endpoints.slice(0, 800), pollOnStart: false, announceConnectivity: false });
    const pushes = await collectPushes(e2e.nc, e2e.kpc);

    // A TTL past the time 1,000 pushes take on a busy host: the 800 must run before it ends.
    const res = await batch('read-meter', 'all-meters', { register: 'kWh' }, 60_000);
    expect(res.status).toBe(202);
    const { taskId } = (await res.json()) as { taskId: string };

    // One 20/EFMP request, with this replica's reply subject (3/ISM) and CEX's timeout.
    const asked = registry.requests.filter((r) => r.filterId === 'all-meters');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.reply).toMatch(/^kaa\.v1\.replica\.[A-Za-z0-9_-]+\.efmp\.ep-list-by-filter-response$/);
    expect(asked[0]!.timeout).toBe(1000);

    const rows = await e2e.db.sql<{ endpoint_id: string; n: number; app: string | null }[]>`
      SELECT endpoint_id, count(*)::int AS n, min(app_version_name) AS app FROM commands
       WHERE batch_task_id = ${taskId}::uuid GROUP BY endpoint_id`;
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(rows.filter((r) => r.app === 'fleet-v2')).toHaveLength(400);

    // Deadlines for a wait gone wrong, generous for a busy host: 1,000 pushes
    // did not arrive within 20 s while the whole suite ran beside this test
    // (the push path's speed is make bench's business, not this test's).
    await eventually(() => (pushes.pushes.length >= 1000 ? true : undefined), 120_000, '1,000 pushes');
    await eventually(async () => ((await task(taskId)).executedCount === 800 ? true : undefined), 120_000, '800 results');
    let t = await task(taskId);
    expect([t.pendingCount, t.executedCount, t.expiredCount]).toEqual([200, 800, 0]);
    expect(sim.stats().commandsExecuted).toBe(800);

    await eventually(async () => ((await task(taskId)).expiredCount === 200 ? true : undefined), 120_000, '200 expiries');
    t = await task(taskId);
    expect([t.pendingCount, t.executedCount, t.expiredCount]).toEqual([0, 800, 200]);
    expect(new Set(t.expired.map((p) => p.endpointId))).toEqual(new Set(endpoints.slice(800)));

    // Exactly one push per endpoint, carrying its one command.
    const perEndpoint = new Map<string, number[]>();
    for (const p of pushes.pushes) perEndpoint.set(p.endpointId, [...(perEndpoint.get(p.endpointId) ?? []), ...p.ids]);
    expect(perEndpoint.size).toBe(1000);
    expect([...perEndpoint.values()].every((list) => list.length === 1 && list[0] === 1)).toBe(true);
    pushes.stop();

    // Listed under the filter and under the application both versions belong to.
    const listed = batchTaskPageSchema.parse(
      await (await fetch(`${e2e.host.url}/api/v1/endpoints/commands/batch/tasks?appName=fleet&filterId=all-meters`)).json(),
    );
    expect(listed.content.map((x) => x.taskId)).toEqual([taskId]);
    expect(listed.content[0]).toMatchObject({
      filterId: 'all-meters',
      requestPayload: { register: 'kWh' },
      executedCount: 800,
      expiredCount: 200,
    });
  }, 300_000);

  it('answers 504 EFMP_TIMEOUT when the registry does not answer, and stores nothing', async () => {
    registry.filters.set('slow-filter', 'silent');
    const before = await stored();
    const res = await batch('reboot', 'slow-filter', null);
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('EFMP_TIMEOUT');
    // The request reached the registry, which said nothing; the detail names the configured timeout.
    expect(registry.requests.filter((r) => r.filterId === 'slow-filter')).toHaveLength(1);
    expect(problem.detail).toContain('within 1000 ms; nothing was created');
    expect(await stored()).toBe(before);
  });

  it('answers 502 EFMP_ERROR with the registry’s reason when it answers an error status, and stores nothing', async () => {
    const before = await stored();
    const res = await batch('reboot', 'no-such-filter', null);
    expect(res.status).toBe(502);
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe('EFMP_ERROR');
    expect(body.detail).toContain('404');
    expect(body.detail).toContain('no filter no-such-filter');
    expect(await stored()).toBe(before);
  });

  it('creates an empty task for a filter that matches nothing, and leaves out ids that are not endpoint ids', async () => {
    registry.filters.set('none', { endpoints: {} });
    const empty = await batch('reboot', 'none', null);
    expect(empty.status).toBe(202);
    const t = await task(((await empty.json()) as { taskId: string }).taskId);
    expect([t.pendingCount, t.executedCount, t.expiredCount]).toEqual([0, 0, 0]);

    registry.filters.set('odd', { endpoints: { 'odd-v1': ['fine-1', 'not/valid', 'fine-1'], 'odd-v2': ['fine-1', 'fine-2'] } });
    const odd = await batch('reboot', 'odd', { n: 1 });
    const oddTask = await task(((await odd.json()) as { taskId: string }).taskId);
    expect(oddTask.pending.map((p) => p.endpointId)).toEqual(['fine-1', 'fine-2']);
  });
});
