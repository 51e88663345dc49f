import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateBatcher } from '../../shared/commands/index.js';
import { createCommand, type NewCommand } from '../../shared/store/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { waitUntil } from '../helpers/wait.js';

// Plain REST creates grouped across callers (shared/commands/create-batcher.ts):
// one statement in flight, what arrives meanwhile goes in the next; creates
// of one endpoint and type never share a statement; a failing statement
// fails only its own caller.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE commands, command_id_counters, outbox, endpoint_state, endpoint_observe`;
});

const input = (endpointId: string, over: Partial<NewCommand> = {}): NewCommand => ({
  tenantId: 'kaa',
  endpointId,
  commandType: 'reboot',
  payload: { for: endpointId },
  ttlMillis: 60_000,
  awaitTimeoutSeconds: 5,
  origin: 'rest',
  ...over,
});

/** Holds the counter row of (endpointId, reboot) locked in a transaction of its own until the returned function is called. */
async function holdCounter(endpointId: string) {
  await db.sql`INSERT INTO command_id_counters (endpoint_id, command_type, last_id) VALUES (${endpointId}, 'reboot', 0) ON CONFLICT DO NOTHING`;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const tx = db.sql.begin(async (t) => {
    await t`SELECT 1 FROM command_id_counters WHERE endpoint_id = ${endpointId} FOR UPDATE`;
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await tx;
  };
}

const blockedBackends = async () =>
  (
    await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`
  )[0]!.n;

describe('CreateBatcher', () => {
  it('creates what arrives while a statement runs in one next statement, each caller getting its own command and push row', async () => {
    const batcher = new CreateBatcher(db.sql);
    const create = (i: number) => createCommand(db.sql, input(`cb-${i}`), { leaseMs: 30_000 }, (plain) => batcher.create(plain));
    const unlock = await holdCounter('cb-0');
    const first = create(0);
    await waitUntil(async () => (await blockedBackends()) === 1, 'the first create waits for the counter lock');
    const others = Array.from({ length: 20 }, (_, i) => create(i + 1));
    await unlock();
    const outcomes = await Promise.all([first, ...others]);
    outcomes.forEach((out, i) => {
      expect(out.command).toMatchObject({ endpointId: `cb-${i}`, commandId: 1, requestPayload: { for: `cb-${i}` }, status: 'PENDING' });
      // Each create claimed its own new push row, planned with its own command.
      expect(out.claimed?.row).toMatchObject({ endpointId: `cb-${i}`, attempts: 1 });
      expect(out.claimed?.plan?.commands.map((c) => c.commandId)).toEqual([1]);
    });
    expect(batcher.counts).toEqual({ creates: 21, statements: 2 });
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox WHERE kind = 'push' AND claimed_until > now()`;
    expect(row?.n).toBe(21);
  });

  it('gives creates of one endpoint and type consecutive ids in statements of their own, the push row coalescing them', async () => {
    const batcher = new CreateBatcher(db.sql);
    const unlock = await holdCounter('cb-lock');
    const first = createCommand(db.sql, input('cb-lock'), undefined, (plain) => batcher.create(plain));
    await waitUntil(async () => (await blockedBackends()) === 1, 'the first create waits for the counter lock');
    const same = Array.from({ length: 3 }, () => createCommand(db.sql, input('cb-same'), undefined, (plain) => batcher.create(plain)));
    await unlock();
    await first;
    expect((await Promise.all(same)).map((o) => o.command.commandId)).toEqual([1, 2, 3]);
    expect(batcher.counts).toEqual({ creates: 4, statements: 4 });
    const rows = await db.sql<{ generation: number }[]>`SELECT generation FROM outbox WHERE endpoint_id = 'cb-same'`;
    // Inserted at generation 1, bumped by each of the two later creates.
    expect(rows).toEqual([{ generation: 3 }]);
  });

  it('fails only the create whose counter is exhausted when it shared a statement with others', async () => {
    const batcher = new CreateBatcher(db.sql);
    await db.sql`INSERT INTO command_id_counters (endpoint_id, command_type, last_id) VALUES ('cb-full', 'reboot', 2147483647)`;
    const unlock = await holdCounter('cb-lock');
    const first = createCommand(db.sql, input('cb-lock'), undefined, (plain) => batcher.create(plain));
    await waitUntil(async () => (await blockedBackends()) === 1, 'the first create waits for the counter lock');
    const later = ['cb-a', 'cb-full', 'cb-b'].map((e) =>
      createCommand(db.sql, input(e), undefined, (plain) => batcher.create(plain)).then(
        (o) => o.command.endpointId,
        (err: { code?: string }) => err.code,
      ),
    );
    await unlock();
    await first;
    expect(await Promise.all(later)).toEqual(['cb-a', 'COMMAND_ID_EXHAUSTED', 'cb-b']);
    const stored = await db.sql<{ endpoint_id: string }[]>`SELECT endpoint_id FROM commands ORDER BY endpoint_id`;
    expect(stored.map((r) => r.endpoint_id)).toEqual(['cb-a', 'cb-b', 'cb-lock']);
  });
});
