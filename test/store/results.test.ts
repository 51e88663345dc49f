import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createCommand, deleteCommand, expireDueCommands, readCommand, recordResults, type NewCommand } from '../../shared/store/index.js';
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

describe('recordResults', () => {
  it('makes a PENDING command EXECUTED once, with code, reason, payload and app version', async () => {
    const { command } = await make();
    const out = await recordResults(
      db.sql,
      'e-1',
      'reboot',
      [{ commandId: command.commandId, statusCode: 200, reasonPhrase: 'OK', payload: { up: true } }],
      'app-v2',
      false,
    );
    expect(out.outcomes.get(command.commandId)).toBe('recorded');
    expect(out.executed).toHaveLength(1);
    const stored = await readCommand(db.sql, 'kaa', command);
    expect(stored).toMatchObject({
      status: 'EXECUTED',
      statusCode: 200,
      reasonPhrase: 'OK',
      responsePayload: { up: true },
      appVersionName: 'app-v2',
      applicationName: 'app',
      version: 2,
    });
  });

  it('accepts an identical repeat without change and refuses a different one', async () => {
    const { command } = await make();
    const result = { commandId: command.commandId, statusCode: 500, reasonPhrase: 'boom' };
    await recordResults(db.sql, 'e-1', 'reboot', [result]);
    const before = await readCommand(db.sql, 'kaa', command);
    const repeat = await recordResults(db.sql, 'e-1', 'reboot', [result]);
    expect(repeat.outcomes.get(command.commandId)).toBe('duplicate');
    expect(repeat.executed).toHaveLength(0);
    expect((await readCommand(db.sql, 'kaa', command))!.updatedAt).toEqual(before!.updatedAt);
    const different = await recordResults(db.sql, 'e-1', 'reboot', [{ ...result, reasonPhrase: 'other' }]);
    expect(different.outcomes.get(command.commandId)).toBe('conflict');
    const payloadDiffers = await recordResults(db.sql, 'e-1', 'reboot', [{ ...result, payload: 1 }]);
    expect(payloadDiffers.outcomes.get(command.commandId)).toBe('conflict');
  });

  it('classifies unknown, deleted and expired ids, and records the valid items of the same message', async () => {
    const { command: live } = await make();
    const { command: gone } = await make();
    const { command: expiring } = await make({ ttlMillis: 1 });
    await deleteCommand(db.sql, 'kaa', gone);
    await untilDatabaseTimePasses(db.sql, expiring.expiresAt);
    const out = await recordResults(db.sql, 'e-1', 'reboot', [
      { commandId: 999, statusCode: 200 },
      { commandId: gone.commandId, statusCode: 200 },
      { commandId: expiring.commandId, statusCode: 200 },
      { commandId: live.commandId, statusCode: 200 },
    ]);
    expect(Object.fromEntries(out.outcomes)).toEqual({
      999: 'not_found',
      [gone.commandId]: 'not_found',
      [expiring.commandId]: 'expired',
      [live.commandId]: 'recorded',
    });
    // After the sweeper ran, the expired command still answers "expired".
    await expireDueCommands(db.sql);
    const again = await recordResults(db.sql, 'e-1', 'reboot', [{ commandId: expiring.commandId, statusCode: 200 }]);
    expect(again.outcomes.get(expiring.commandId)).toBe('expired');
  });

  it('does not find a command under another type', async () => {
    const { command } = await make();
    const out = await recordResults(db.sql, 'e-1', 'SWITCH', [{ commandId: command.commandId, statusCode: 200 }]);
    expect(out.outcomes.get(command.commandId)).toBe('not_found');
  });

  it('lets exactly one of many concurrent different results win', async () => {
    const { command } = await make();
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        recordResults(db.sql, 'e-1', 'reboot', [{ commandId: command.commandId, statusCode: 200 + i }]).then((r) =>
          r.outcomes.get(command.commandId),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(11);
  });

  it('lets exactly one of many concurrent identical results record, the rest are duplicates', async () => {
    const { command } = await make();
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () =>
        recordResults(db.sql, 'e-1', 'reboot', [{ commandId: command.commandId, statusCode: 200, payload: 'same' }]).then((r) =>
          r.outcomes.get(command.commandId),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(11);
  });

  it('owes the CIP caller the result through the outbox', async () => {
    await make({ origin: 'cip', commandId: 77, cipReplySubject: 'kaa.v1.replica.r1.cip.command-result', cipCorrelationId: 'corr' });
    const out = await recordResults(
      db.sql,
      'e-1',
      'reboot',
      [{ commandId: 77, statusCode: 201, reasonPhrase: 'Created', payload: [1, 2] }],
      'app-v1',
    );
    expect(out.outboxWritten).toBe(true);
    const [row] = await db.sql`SELECT message FROM outbox WHERE kind = 'cip_result'`;
    expect(row!.message).toEqual({
      replySubject: 'kaa.v1.replica.r1.cip.command-result',
      correlationId: 'corr',
      appVersionName: 'app-v1',
      statusCode: 201,
      reasonPhrase: 'Created',
      payload: [1, 2],
    });
  });

  it('records a result for a zero-TTL command while its sync window is open', async () => {
    const { command } = await make({ ttlMillis: 0, awaitTimeoutSeconds: 5 });
    const out = await recordResults(db.sql, 'e-1', 'reboot', [{ commandId: command.commandId, statusCode: 200 }]);
    expect(out.outcomes.get(command.commandId)).toBe('recorded');
  });
});

describe('expireDueCommands', () => {
  it('expires each due command exactly once, even with concurrent sweepers', async () => {
    let last: Date | undefined;
    for (let i = 0; i < 40; i++) last = (await make({ ttlMillis: 1 })).command.expiresAt;
    const { command: live } = await make();
    await untilDatabaseTimePasses(db.sql, last!);
    const sweeps = await Promise.all([
      expireDueCommands(db.sql, 7),
      expireDueCommands(db.sql, 7),
      expireDueCommands(db.sql),
      expireDueCommands(db.sql),
    ]);
    const again = await expireDueCommands(db.sql);
    const keys = [...sweeps, again].flatMap((s) => s.expired.map((c) => c.commandId));
    expect(keys).toHaveLength(40);
    expect(new Set(keys).size).toBe(40);
    expect((await readCommand(db.sql, 'kaa', live))!.status).toBe('PENDING');
    const [counts] = await db.sql`SELECT count(*) FILTER (WHERE status = 'EXPIRED')::int AS expired FROM commands`;
    expect(counts!.expired).toBe(40);
  });

  it('answers the CIP caller 408 when its command expires', async () => {
    const { command } = await make({ origin: 'cip', commandId: 5, ttlMillis: 1, cipReplySubject: 'reply', cipCorrelationId: 'c' });
    await untilDatabaseTimePasses(db.sql, command.expiresAt);
    const { expired, outboxWritten } = await expireDueCommands(db.sql);
    expect(expired).toHaveLength(1);
    expect(expired[0]!.version).toBe(2);
    expect(outboxWritten).toBe(true);
    const [row] = await db.sql`SELECT message FROM outbox WHERE kind = 'cip_result'`;
    expect(row!.message).toMatchObject({ statusCode: 408, correlationId: 'c', replySubject: 'reply' });
    expect((row!.message as { reasonPhrase: string }).reasonPhrase).toMatch(/expired/);
  });

  it('keeps an unpushed zero-TTL command until its push (or a short grace) passed', async () => {
    const { command } = await make({ ttlMillis: 0, awaitTimeoutSeconds: 0 });
    expect((await expireDueCommands(db.sql)).expired).toHaveLength(0);
    await db.sql`UPDATE commands SET push_count = 1`;
    const { expired } = await expireDueCommands(db.sql);
    expect(expired.map((c) => c.commandId)).toEqual([command.commandId]);
  });
});
