import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { otherInstance, startRestHost, type RestHost } from '../helpers/rest-host.js';
import { recordEndpointResults } from '../../shared/commands/index.js';
import { batchTaskPageSchema, batchTaskSchema } from '../../shared/rest/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';

/**
 * A batch task counts its executed commands as succeeded (the endpoint's
 * statusCode is 2xx) or failed (any other code), beside the executed count
 * Kaa clients read.
 */
let db: TestDatabase;
let host: RestHost;
let device: Runtime;

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db);
  device = otherInstance(db);
});
afterAll(async () => {
  await host.stop();
  await device.shutdown();
  await db.drop();
});

describe('batch task outcomes', () => {
  it('splits executed into succeeded (2xx) and failed (other codes) in the task, its lists, and the task list', async () => {
    const endpoints = ['out-a', 'out-b', 'out-c', 'out-d', 'out-e', 'out-f'];
    const res = await fetch(`${host.url}/api/v1/endpoints/commands/update/batch/by-endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpointIds: endpoints }),
    });
    const { taskId } = (await res.json()) as { taskId: string };
    const codes: [string, number][] = [
      ['out-a', 200],
      ['out-b', 204],
      ['out-c', 503],
      ['out-d', 404],
      ['out-e', 302],
    ];
    for (const [endpointId, statusCode] of codes)
      await recordEndpointResults(device, endpointId, 'update', [{ commandId: 1, statusCode }], null);

    const task = batchTaskSchema.parse(await (await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks/${taskId}`)).json());
    expect(task).toMatchObject({ pendingCount: 1, executedCount: 5, succeededCount: 2, failedCount: 3, expiredCount: 0 });
    expect(task.executed).toHaveLength(5);
    expect(task.succeeded).toEqual([
      { endpointId: 'out-a', commandId: 1, statusCode: 200 },
      { endpointId: 'out-b', commandId: 1, statusCode: 204 },
    ]);
    expect(task.failed).toEqual([
      { endpointId: 'out-c', commandId: 1, statusCode: 503 },
      { endpointId: 'out-d', commandId: 1, statusCode: 404 },
      { endpointId: 'out-e', commandId: 1, statusCode: 302 },
    ]);

    const list = batchTaskPageSchema.parse(
      await (await fetch(`${host.url}/api/v1/endpoints/commands/batch/tasks?commandType=update`)).json(),
    );
    expect(list.content[0]).toMatchObject({
      taskId,
      pendingCount: 1,
      executedCount: 5,
      succeededCount: 2,
      failedCount: 3,
      expiredCount: 0,
    });
  });
});
