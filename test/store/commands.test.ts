import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createCommand,
  deleteCommand,
  readCommand,
  readCommandsNewerThan,
  recordResults,
  type NewCommand,
} from '../../shared/store/index.js';
import { ConflictError } from '../../shared/errors/index.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const base = (over: Partial<NewCommand> = {}): NewCommand => ({
  tenantId: 'kaa',
  endpointId: 'e-1',
  commandType: 'reboot',
  payload: { delay: 5 },
  ttlMillis: 60_000,
  awaitTimeoutSeconds: 5,
  origin: 'rest',
  ...over,
});

async function outboxRows() {
  return db.sql<{ kind: string; endpointId: string; commandType: string; generation: number; includeIds: number[]; message: unknown }[]>`
    SELECT kind, endpoint_id AS "endpointId", command_type AS "commandType", generation,
           include_ids AS "includeIds", message FROM outbox ORDER BY id`;
}

describe('createCommand', () => {
  it('allocates ids from 1 per (endpoint, type) and writes one coalesced push row', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createCommand(db.sql, base())).command.commandId);
    const other = await createCommand(db.sql, base({ commandType: 'SWITCH' }));
    expect(ids).toEqual([1, 2, 3]);
    expect(other.command.commandId).toBe(1);
    const rows = await outboxRows();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ kind: 'push', endpointId: 'e-1', commandType: 'reboot', generation: 3 });
  });

  it('stores the command PENDING with its payload, tenant and expiry', async () => {
    const { command, created, outboxWritten } = await createCommand(db.sql, base({ payload: 'text body' }));
    expect(created).toBe(true);
    expect(outboxWritten).toBe(true);
    expect(command).toMatchObject({ status: 'PENDING', tenantId: 'kaa', requestPayload: 'text body', pushOnce: false, pushCount: 0 });
    expect(command.expiresAt.getTime() - command.createdAt.getTime()).toBe(60_000);
  });

  it('keeps JSON null distinct from no payload', async () => {
    const { command } = await createCommand(db.sql, base({ payload: null }));
    expect(command.requestPayload).toBeNull();
    const [raw] = await db.sql`SELECT jsonb_typeof(request_payload) AS t FROM commands`;
    expect(raw!.t).toBe('null');
  });

  it('makes a zero-TTL command push-once, living only for the sync wait', async () => {
    const { command } = await createCommand(db.sql, base({ ttlMillis: 0, awaitTimeoutSeconds: 7 }));
    expect(command.pushOnce).toBe(true);
    expect(command.expiresAt.getTime() - command.createdAt.getTime()).toBe(7000);
    const [row] = await outboxRows();
    expect(row!.includeIds).toEqual([command.commandId]);
  });

  it('replays an Idempotency-Key with the same payload and refuses another payload', async () => {
    const first = await createCommand(db.sql, base({ idempotencyKey: 'k1' }));
    const again = await createCommand(db.sql, base({ idempotencyKey: 'k1' }));
    expect(again.created).toBe(false);
    expect(again.outboxWritten).toBe(false);
    expect(again.command.commandId).toBe(first.command.commandId);
    await expect(createCommand(db.sql, base({ idempotencyKey: 'k1', payload: { delay: 6 } }))).rejects.toBeInstanceOf(ConflictError);
    // The key is scoped to the tenant: another tenant gets its own command.
    const otherTenant = await createCommand(db.sql, base({ idempotencyKey: 'k1', tenantId: 'other' }));
    expect(otherTenant.created).toBe(true);
  });

  it('frees an Idempotency-Key once its command is past its TTL', async () => {
    const first = await createCommand(db.sql, base({ idempotencyKey: 'k2', ttlMillis: 1 }));
    await untilDatabaseTimePasses(db.sql, first.command.expiresAt);
    const second = await createCommand(db.sql, base({ idempotencyKey: 'k2' }));
    expect(second.created).toBe(true);
    expect(second.command.commandId).toBe(first.command.commandId + 1);
  });

  it('lets concurrent invokes with one new Idempotency-Key create one command', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => createCommand(db.sql, base({ idempotencyKey: 'race' }))));
    expect(new Set(outcomes.map((o) => o.command.commandId)).size).toBe(1);
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
  });

  it('uses a CIP caller id as is and keeps later REST ids past it', async () => {
    const cip = await createCommand(db.sql, base({ origin: 'cip', commandId: 41, cipReplySubject: 'reply.1', cipCorrelationId: 'c1' }));
    expect(cip.command.commandId).toBe(41);
    const rest = await createCommand(db.sql, base());
    expect(rest.command.commandId).toBe(42);
  });

  it('treats a CIP request for an existing id as a retry with the same payload, a conflict otherwise', async () => {
    await createCommand(db.sql, base({ origin: 'cip', commandId: 5, cipReplySubject: 'reply.1', cipCorrelationId: 'c1' }));
    const retry = await createCommand(db.sql, base({ origin: 'cip', commandId: 5, cipReplySubject: 'reply.2', cipCorrelationId: 'c2' }));
    expect(retry.created).toBe(false);
    expect(retry.command).toMatchObject({ cipReplySubject: 'reply.2', cipCorrelationId: 'c2' });
    await expect(
      createCommand(db.sql, base({ origin: 'cip', commandId: 5, payload: 'other', cipReplySubject: 'reply.3' })),
    ).rejects.toMatchObject({ code: 'COMMAND_ID_IN_USE', status: 409 });
  });

  it('answers a CIP retry of a finished command from the outbox at once', async () => {
    await createCommand(db.sql, base({ origin: 'cip', commandId: 9, cipReplySubject: 'reply.1', cipCorrelationId: 'c1' }));
    await db.sql`UPDATE commands SET status = 'EXECUTED', status_code = 200, reason_phrase = 'OK', response_payload = '{"done":true}'`;
    const retry = await createCommand(db.sql, base({ origin: 'cip', commandId: 9, cipReplySubject: 'reply.2', cipCorrelationId: 'c2' }));
    expect(retry.outboxWritten).toBe(true);
    const cip = (await outboxRows()).filter((r) => r.kind === 'cip_result');
    expect(cip).toHaveLength(1);
    expect(cip[0]!.message).toMatchObject({ replySubject: 'reply.2', correlationId: 'c2', statusCode: 200, payload: { done: true } });
  });

  it('refuses an id past the 32-bit range with a clear conflict', async () => {
    await createCommand(db.sql, base({ origin: 'cip', commandId: 2_147_483_647 }));
    await expect(createCommand(db.sql, base())).rejects.toMatchObject({ code: 'COMMAND_ID_EXHAUSTED', status: 409 });
  });
});

describe('readCommand and deleteCommand', () => {
  it('shows a command to its tenant only', async () => {
    const { command } = await createCommand(db.sql, base());
    expect(await readCommand(db.sql, 'kaa', command)).toMatchObject({ commandId: command.commandId });
    expect(await readCommand(db.sql, 'tenant-b', command)).toBeUndefined();
  });

  it('deletes a command of the tenant only, once', async () => {
    const { command } = await createCommand(db.sql, base());
    expect((await deleteCommand(db.sql, 'tenant-b', command)).deleted).toBe(false);
    expect((await deleteCommand(db.sql, 'kaa', command)).deleted).toBe(true);
    expect((await deleteCommand(db.sql, 'kaa', command)).deleted).toBe(false);
    expect(await readCommand(db.sql, 'kaa', command)).toBeUndefined();
    // Ids are never reused after a delete.
    expect((await createCommand(db.sql, base())).command.commandId).toBe(command.commandId + 1);
  });

  it('answers a waiting CIP caller 404 when its command is deleted', async () => {
    const { command } = await createCommand(
      db.sql,
      base({ origin: 'cip', commandId: 3, cipReplySubject: 'reply.x', cipCorrelationId: 'cx' }),
    );
    const outcome = await deleteCommand(db.sql, 'kaa', command);
    expect(outcome.outboxWritten).toBe(true);
    const cip = (await outboxRows()).find((r) => r.kind === 'cip_result');
    expect(cip?.message).toMatchObject({ replySubject: 'reply.x', correlationId: 'cx', statusCode: 404 });
  });
});

describe("readCommandsNewerThan (the change feed's re-read)", () => {
  it('returns only rows past the version their watchers know, names the deleted ones, and reads every row for an unknown version', async () => {
    const a = (await createCommand(db.sql, base({ endpointId: 'n-1' }))).command;
    const b = (await createCommand(db.sql, base({ endpointId: 'n-2' }))).command;
    const c = (await createCommand(db.sql, base({ endpointId: 'n-3' }))).command;
    await recordResults(db.sql, 'n-2', 'reboot', [{ commandId: b.commandId, statusCode: 200 }], null, false);
    expect((await deleteCommand(db.sql, 'kaa', c)).deleted).toBe(true);
    const missing = { endpointId: 'n-4', commandType: 'reboot', commandId: 9, known: -1 };
    const known = [{ ...a, known: a.version }, { ...b, known: b.version }, { ...c, known: c.version }, missing];
    const newer = await readCommandsNewerThan(db.sql, known);
    expect(newer.rows.map((r) => [r.endpointId, r.status, r.version])).toEqual([['n-2', 'EXECUTED', b.version + 1]]);
    expect(newer.rows[0]).not.toHaveProperty('knownIndex');
    expect(newer.gone.sort()).toEqual([2, 3]);
    const all = await readCommandsNewerThan(
      db.sql,
      [a, b].map((r) => ({ ...r, known: -1 })),
    );
    expect(all.rows.map((r) => r.endpointId).sort()).toEqual(['n-1', 'n-2']);
    expect(all.rows.find((r) => r.endpointId === 'n-1')).toEqual(await readCommand(db.sql, 'kaa', a));
    expect(all.gone).toEqual([]);
  });
});
