import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResultBatcher } from '../../shared/commands/index.js';
import { StatementBatcher } from '../../shared/db/index.js';
import { createCommand, readCommand, recordResults, type NewCommand } from '../../shared/store/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { waitUntil } from '../helpers/wait.js';

// Results grouped across callers (shared/commands/result-batcher.ts): one
// statement in flight, what arrives meanwhile goes in the next, results for
// one command never share a statement, and a failing statement fails only
// its own caller.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const make = (endpointId: string, over: Partial<NewCommand> = {}) =>
  createCommand(db.sql, {
    tenantId: 'kaa',
    endpointId,
    commandType: 'reboot',
    payload: null,
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 5,
    origin: 'rest',
    ...over,
  });

/** Holds the row lock of one command in a transaction of its own until release() is called. */
async function holdLock(endpointId: string, commandId: number) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const tx = db.sql.begin(async (t) => {
    await t`SELECT 1 FROM commands WHERE endpoint_id = ${endpointId} AND command_id = ${commandId} FOR UPDATE`;
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await tx;
  };
}

async function blockedBackends(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
  return row!.n;
}

describe('ResultBatcher', () => {
  it('records the results that arrive while a statement runs in one next statement, each caller getting its own commands', async () => {
    const batcher = new ResultBatcher(db.sql, () => false);
    const commands = await Promise.all(Array.from({ length: 21 }, (_, i) => make(`rb-${i}`)));
    // The first result waits for a lock, so the twenty others queue behind its statement.
    const unlock = await holdLock('rb-0', commands[0]!.command.commandId);
    const record = (i: number) =>
      recordResults(
        db.sql,
        `rb-${i}`,
        'reboot',
        [{ commandId: commands[i]!.command.commandId, statusCode: 200, payload: i }],
        'v-1',
        false,
        (g) => batcher.record(g),
      );
    const first = record(0);
    await waitUntil(async () => (await blockedBackends()) === 1, 'the first result statement waits for the lock');
    const others = Array.from({ length: 20 }, (_, i) => record(i + 1));
    await unlock();
    const outcomes = await Promise.all([first, ...others]);
    outcomes.forEach((out, i) => {
      expect(out.outcomes.get(commands[i]!.command.commandId)).toBe('recorded');
      expect(out.executed.map((c) => c.endpointId)).toEqual([`rb-${i}`]);
    });
    expect(batcher.counts).toEqual({ groups: 21, statements: 2 });
    for (let i = 0; i < 21; i++) {
      expect(await readCommand(db.sql, 'kaa', commands[i]!.command)).toMatchObject({
        status: 'EXECUTED',
        responsePayload: i,
        appVersionName: 'v-1',
      });
    }
  });

  it('never puts two results for one command in one statement: the first records, the repeat is judged after it', async () => {
    const batcher = new ResultBatcher(db.sql, () => false);
    const [{ command: a }, { command: b }] = [await make('rb-a'), await make('rb-b')];
    const unlock = await holdLock('rb-a', a.commandId);
    const record = (endpointId: string, commandId: number, statusCode: number) =>
      recordResults(db.sql, endpointId, 'reboot', [{ commandId, statusCode }], null, false, (g) => batcher.record(g));
    const first = record('rb-a', a.commandId, 200);
    await waitUntil(async () => (await blockedBackends()) === 1, 'the first result statement waits for the lock');
    const same = record('rb-b', b.commandId, 200);
    const repeat = record('rb-b', b.commandId, 200);
    const differing = record('rb-b', b.commandId, 500);
    await unlock();
    const [, s, r, d] = await Promise.all([first, same, repeat, differing]);
    expect([s.outcomes.get(b.commandId), r.outcomes.get(b.commandId), d.outcomes.get(b.commandId)]).toEqual([
      'recorded',
      'duplicate',
      'conflict',
    ]);
    expect(await readCommand(db.sql, 'kaa', b)).toMatchObject({ status: 'EXECUTED', statusCode: 200 });
    // The first statement, then one per result for command b.
    expect(batcher.counts.statements).toBe(4);
  });

  it('records two results of one endpoint and type that share a statement, each returned to its own caller', async () => {
    const batcher = new ResultBatcher(db.sql, () => false);
    const blocker = await make('rb-lock');
    const [{ command: one }, { command: two }] = [await make('rb-same'), await make('rb-same')];
    const unlock = await holdLock('rb-lock', blocker.command.commandId);
    const record = (endpointId: string, commandId: number) =>
      recordResults(db.sql, endpointId, 'reboot', [{ commandId, statusCode: 204 }], null, false, (g) => batcher.record(g));
    const first = record('rb-lock', blocker.command.commandId);
    await waitUntil(async () => (await blockedBackends()) === 1, 'the first result statement waits for the lock');
    const [r1, r2] = [record('rb-same', one.commandId), record('rb-same', two.commandId)];
    await unlock();
    await first;
    expect((await r1).executed.map((c) => c.commandId)).toEqual([one.commandId]);
    expect((await r2).executed.map((c) => c.commandId)).toEqual([two.commandId]);
    expect(batcher.counts).toEqual({ groups: 3, statements: 2 });
  });
});

describe('StatementBatcher', () => {
  it('retries a failed statement input by input, so only the bad input fails', async () => {
    let gate!: () => void;
    const opened = new Promise<void>((r) => (gate = r));
    const seen: number[][] = [];
    const batcher = new StatementBatcher<number, number>(
      async (inputs) => {
        seen.push([...inputs]);
        if (inputs[0] === 0) await opened;
        if (inputs.includes(13)) throw new Error('bad input 13');
        return inputs.map((n) => n * 2);
      },
      { keysOf: (n) => [String(n)], sizeOf: () => 1, maxSize: 100, stallMs: 5_000 },
    );
    const first = batcher.submit(0);
    const later = [12, 13, 14].map((n) => batcher.submit(n).then(String, (err: Error) => err.message));
    gate();
    expect(await first).toBe(0);
    expect(await Promise.all(later)).toEqual(['24', 'bad input 13', '28']);
    expect(seen).toEqual([[0], [12, 13, 14], [12], [13], [14]]);
  });

  it('caps a statement at maxSize rows and keeps the queue in order', async () => {
    let gate!: () => void;
    const opened = new Promise<void>((r) => (gate = r));
    const seen: number[][] = [];
    const batcher = new StatementBatcher<number, number>(
      async (inputs) => {
        seen.push([...inputs]);
        if (inputs[0] === 0) await opened;
        return inputs;
      },
      { keysOf: (n) => [String(n)], sizeOf: () => 1, maxSize: 3, stallMs: 5_000 },
    );
    const all = [0, 1, 2, 3, 4, 5, 6].map((n) => batcher.submit(n));
    gate();
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(seen).toEqual([[0], [1, 2, 3], [4, 5, 6]]);
  });

  it('stops holding the queue for a statement that does not answer within stallMs, and still answers its caller', async () => {
    let gate!: () => void;
    const opened = new Promise<void>((r) => (gate = r));
    const batcher = new StatementBatcher<number, number>(
      async (inputs) => {
        if (inputs[0] === 0) await opened;
        return inputs;
      },
      { keysOf: (n) => [String(n)], sizeOf: () => 1, maxSize: 10, stallMs: 50 },
    );
    const wedged = batcher.submit(0);
    // Answered while the first statement still hangs.
    expect(await batcher.submit(1)).toBe(1);
    gate();
    expect(await wedged).toBe(0);
  });
});
