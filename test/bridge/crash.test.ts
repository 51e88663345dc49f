import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { CHANNELS, notify } from '../../shared/db/index.js';
import { claimDueOutbox, createCommand } from '../../shared/store/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniquePrefix } from '../helpers/nats.js';
import {
  bridgeRuntime,
  collectPushes,
  restCommand,
  runBridge,
  startFakeFunctions,
  testConnection,
  uniqueNames,
  waitFor,
  type FakeFunctions,
  type Names,
} from './helpers.js';

let db: TestDatabase;
let fake: FakeFunctions;
let nc: NatsConnection;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  nc = await testConnection();
});
afterAll(async () => {
  await nc?.close();
  await fake?.close();
  await db?.drop();
});

/** Every endpoint has seen a push carrying all of its command ids. */
const allPushed = (seen: Awaited<ReturnType<typeof collectPushes>>, expected: Map<string, number[]>) =>
  [...expected].every(([ep, ids]) => seen.of(ep).some((p) => ids.every((id) => p.ids.includes(id))));

describe('crash safety', () => {
  it('pushes every command committed while no bridge ran', async () => {
    const names: Names = uniqueNames();
    const seen = await collectPushes(nc, names.kpc);
    const expected = new Map<string, number[]>();
    for (let i = 0; i < 40; i++) {
      const ep = uniquePrefix('ep');
      const { command } = await createCommand(db.sql, restCommand(ep, 'reboot'));
      expected.set(ep, [command.commandId]);
    }
    const busy = uniquePrefix('ep');
    for (let i = 0; i < 30; i++) await createCommand(db.sql, restCommand(busy, 'reboot', { payload: i }));
    expected.set(
      busy,
      Array.from({ length: 30 }, (_, i) => i + 1),
    );

    const running = await runBridge(bridgeRuntime(db.url, names, fake.url));
    try {
      await waitFor(() => allPushed(seen, expected), 30_000, 'every command pushed');
      expect(
        seen
          .of(busy)
          .at(-1)!
          .items.map((i) => i.payload),
      ).toEqual(Array.from({ length: 30 }, (_, i) => i));
    } finally {
      await running.stop();
      seen.stop();
    }
  });

  it('pushes rows claimed by a bridge that died, once their lease ran out', async () => {
    const names: Names = uniqueNames();
    const seen = await collectPushes(nc, names.kpc);
    const expected = new Map<string, number[]>();
    for (let i = 0; i < 10; i++) {
      const ep = uniquePrefix('ep');
      await createCommand(db.sql, restCommand(ep, 'reboot'));
      expected.set(ep, [1]);
    }
    // The dead bridge's claim: 1.5 s lease, never completed.
    const claimed = await claimDueOutbox(db.sql, 1000, 1_500);
    expect(claimed.length).toBeGreaterThanOrEqual(10);
    const eps = [...expected.keys()];
    const [lease] = await db.sql<{ until: Date }[]>`SELECT min(claimed_until) AS until FROM outbox WHERE endpoint_id = ANY(${eps})`;
    const running = await runBridge(bridgeRuntime(db.url, names, fake.url));
    try {
      await waitFor(() => allPushed(seen, expected), 30_000, 'every claimed row pushed');
      // Not before the dead claim's lease ran out: both times are the database's
      // (recorded when the batch's pushes are completed, just after they are seen).
      await waitFor(
        async () => (await db.sql`SELECT 1 FROM commands WHERE endpoint_id = ANY(${eps}) AND last_pushed_at IS NULL`).length === 0,
        15_000,
        'every push recorded',
      );
      const [first] = await db.sql<{ at: Date }[]>`SELECT min(last_pushed_at) AS at FROM commands WHERE endpoint_id = ANY(${eps})`;
      expect(first!.at.getTime()).toBeGreaterThanOrEqual(lease!.until.getTime());
    } finally {
      await running.stop();
      seen.stop();
    }
  });
});

describe('crash safety of the real process (dev host, SIGKILL)', () => {
  let host: DevHost | undefined;
  afterAll(async () => {
    await host?.stop('SIGKILL');
  });

  it('pushes every command after a SIGKILL and a restart, and stops cleanly on SIGTERM', async () => {
    const names: Names = uniqueNames();
    const env = {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      CEX_INSTANCE_NAME: names.instance,
      KPC_INSTANCE_NAME: names.kpc,
      KAA_SCMP_PROVIDER: names.scmpProvider,
      CEX_LOG_LEVEL: 'warn',
      CEX_AUTH: 'off',
      CEX_SHUTDOWN_GRACE_MS: '5000',
    };
    const seen = await collectPushes(nc, names.kpc);
    const expected = new Map<string, number[]>();
    host = await startDevHost(env);
    for (let i = 0; i < 100; i++) {
      if (i === 50) await host.stop('SIGKILL');
      const ep = uniquePrefix('ep');
      await createCommand(db.sql, restCommand(ep, 'reboot'));
      await notify(db.sql, CHANNELS.outbox);
      expected.set(ep, [1]);
    }
    host = await startDevHost(env);
    // Rows the killed host had claimed come back when their 10 s lease ends.
    await waitFor(() => allPushed(seen, expected), 40_000, 'every command pushed after the restart');
    expect(await host.stop('SIGTERM')).toBe(0);
    host = undefined;
    seen.stop();
  }, 90_000);
});
