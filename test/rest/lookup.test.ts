import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { createCommand, recordResults } from '../../shared/store/index.js';
import { descriptorSchema } from '../../shared/rest/index.js';

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

const url = (path: string) => `${host.url}/api/v1/endpoints/${path}`;
const create = (over: Record<string, unknown> = {}) =>
  createCommand(db.sql, {
    tenantId: 'kaa',
    endpointId: 'lamp-1',
    commandType: 'toggle',
    payload: { on: 1 },
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 0,
    origin: 'rest',
    ...over,
  });

describe('GET one command', () => {
  it('answers the descriptor of a pending and of an executed command', async () => {
    const { command } = await create();
    const pending = await fetch(url(`lamp-1/commands/toggle/${command.commandId}`));
    expect(pending.status).toBe(200);
    const body = descriptorSchema.parse(await pending.json());
    expect(body).toMatchObject({ commandId: command.commandId, status: 'PENDING', requestPayload: { on: 1 } });
    await recordResults(
      db.sql,
      'lamp-1',
      'toggle',
      [{ commandId: command.commandId, statusCode: 200, reasonPhrase: 'OK', payload: 'done' }],
      'lamp-v3',
    );
    const executed = (await (await fetch(url(`lamp-1/commands/toggle/${command.commandId}`))).json()) as Record<string, unknown>;
    expect(executed).toMatchObject({
      status: 'EXECUTED',
      statusCode: 200,
      reasonPhrase: 'OK',
      responsePayload: 'done',
      appVersionName: 'lamp-v3',
    });
    expect(Date.parse(executed.updatedAt as string)).toBeGreaterThanOrEqual(Date.parse(executed.createdAt as string));
  });

  it.each([
    ['0', 400, 'INVALID_COMMAND_ID'],
    ['-1', 400, 'INVALID_COMMAND_ID'],
    ['1.5', 400, 'INVALID_COMMAND_ID'],
    ['abc', 400, 'INVALID_COMMAND_ID'],
    ['2147483648', 400, 'INVALID_COMMAND_ID'],
    ['99999', 404, 'COMMAND_NOT_FOUND'],
  ])('answers id %s with %i', async (id, status, code) => {
    const res = await fetch(url(`lamp-1/commands/toggle/${id}`));
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe(code);
  });

  it('answers 400 for bad endpoint ids and types, including bad percent-encoding', async () => {
    expect(((await (await fetch(url('a%20b/commands/toggle/1'))).json()) as { code: string }).code).toBe('INVALID_ENDPOINT_ID');
    expect(((await (await fetch(url('lamp-1/commands/to%2Fggle/1'))).json()) as { code: string }).code).toBe('INVALID_COMMAND_TYPE');
    expect(((await (await fetch(url('lamp%zz/commands/toggle/1'))).json()) as { code: string }).code).toBe('INVALID_PATH');
  });

  it("answers 404 for another tenant's command, never 403", async () => {
    const { command } = await create({ tenantId: 'tenant-b', endpointId: 'lamp-b' });
    const res = await fetch(url(`lamp-b/commands/toggle/${command.commandId}`));
    expect(res.status).toBe(404);
    const del = await fetch(url(`lamp-b/commands/toggle/${command.commandId}`), { method: 'DELETE' });
    expect(del.status).toBe(404);
    const [still] = await db.sql`SELECT count(*)::int AS n FROM commands WHERE endpoint_id = 'lamp-b'`;
    expect(still!.n).toBe(1);
  });
});

describe('DELETE one command', () => {
  it('answers 204 once, then 404, and the command is gone from reads and lists', async () => {
    const { command } = await create({ endpointId: 'lamp-del' });
    const path = url(`lamp-del/commands/toggle/${command.commandId}`);
    const del = await fetch(path, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    expect((await fetch(path)).status).toBe(404);
    expect((await fetch(path, { method: 'DELETE' })).status).toBe(404);
    const list = (await (await fetch(url('commands?endpointId=lamp-del'))).json()) as { commands: unknown[] }[];
    expect(list[0]!.commands).toEqual([]);
    const late = await recordResults(db.sql, 'lamp-del', 'toggle', [{ commandId: command.commandId, statusCode: 200 }]);
    expect(late.outcomes.get(command.commandId)).toBe('not_found');
  });
});
