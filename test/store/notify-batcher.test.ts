import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, mergeNotifications, NotifyBatcher, type Sql } from '../../shared/db/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// The writes' NOTIFY hints, one statement in flight at a time: what arrives
// while it runs goes in the next one (shared/db/notify.ts, NotifyBatcher).

describe('mergeNotifications', () => {
  it('concatenates command keys and unites outbox work names, one notification per channel', () => {
    expect(
      mergeNotifications([
        { channel: CHANNELS.command, keys: ['a/t/1'] },
        { channel: CHANNELS.outbox, keys: ['bridge'] },
        { channel: CHANNELS.command, keys: ['+a/t/2', 'b/t/1\t{"version":2}'] },
        { channel: CHANNELS.outbox, keys: ['bridge,callbacks'] },
      ]),
    ).toEqual([
      { channel: CHANNELS.command, keys: ['a/t/1', '+a/t/2', 'b/t/1\t{"version":2}'] },
      { channel: CHANNELS.outbox, keys: ['bridge,callbacks'] },
    ]);
  });

  it("lets an empty outbox payload (everyone's work) absorb the named ones", () => {
    expect(mergeNotifications([{ channel: CHANNELS.outbox, keys: ['callbacks'] }, { channel: CHANNELS.outbox }])).toEqual([
      { channel: CHANNELS.outbox, keys: [''] },
    ]);
  });
});

describe('NotifyBatcher', () => {
  let db: TestDatabase;
  let listener: postgres.Sql;
  const received: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    listener = postgres(db.url, { max: 1 });
    await listener.listen(CHANNELS.command, (payload) => received.push(payload));
  });
  afterAll(async () => {
    await listener?.end({ timeout: 1 });
    await db?.drop();
  });

  it('sends an idle write at once, groups the writes that come while a statement runs, and loses no key', async () => {
    const batcher = new NotifyBatcher(db.sql);
    await batcher.send([{ channel: CHANNELS.command, keys: ['solo/t/1'] }]);
    const sends = Array.from({ length: 50 }, (_, i) => batcher.send([{ channel: CHANNELS.command, keys: [`e/t/${i}`] }]));
    await Promise.all(sends);
    const want = ['solo/t/1', ...Array.from({ length: 50 }, (_, i) => `e/t/${i}`)];
    const deadline = Date.now() + 10_000;
    while (received.flatMap((p) => p.split('\n')).length < want.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(received.flatMap((p) => p.split('\n')).sort()).toEqual(want.sort());
    // The idle write went alone, so did the first of the 50 (nothing was in
    // flight); the 49 sent while it ran shared the next statement.
    expect(received).toHaveLength(3);
    expect(received.slice(0, 2)).toEqual(['solo/t/1', 'e/t/0']);
    expect(received[2]!.split('\n')).toHaveLength(49);
  });

  it('releases its callers when a statement stalls, and goes on with the next', async () => {
    let calls = 0;
    const stalled = (() => {
      calls++;
      return calls === 1 ? new Promise(() => undefined) : Promise.resolve([]);
    }) as unknown as Sql;
    const batcher = new NotifyBatcher(stalled, 200);
    const first = batcher.send([{ channel: CHANNELS.command, keys: ['x/t/1'] }]);
    const second = batcher.send([{ channel: CHANNELS.command, keys: ['x/t/2'] }]);
    await first;
    await second;
    expect(calls).toBe(2);
  });
});
