import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../bridge/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { otherInstance } from '../helpers/rest-host.js';
import { recordEndpointResults } from '../../shared/commands/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { startReceiver, type Receiver } from './receiver.js';

/**
 * The bridge of the built dev host is SIGKILLed between two attempts of a
 * callback; a new host on the same database delivers it, with the same
 * delivery id: the schedule lives in the outbox row, not in the process.
 */
let db: TestDatabase;
let receiver: Receiver;
let device: Runtime;
const hosts: DevHost[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startReceiver();
  device = otherInstance(db);
});
afterAll(async () => {
  for (const h of hosts) await h.stop('SIGKILL', 5_000).catch(() => undefined);
  await device?.shutdown();
  await receiver?.close();
  await db?.drop();
});

function devHost(extra: Record<string, string> = {}): Promise<DevHost> {
  return startDevHost({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: uniqueInstanceName(),
    CEX_AUTH: 'off',
    CEX_LOG_LEVEL: 'warn',
    CEX_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    CEX_CALLBACK_SECRET: 'crash-test-secret-0123',
    // Room to kill the host after the first attempt, before the second,
    // however busy the machine (the test then makes the row due itself).
    CEX_CALLBACK_INITIAL_BACKOFF_MS: '60000',
    ...extra,
  }).then((h) => (hosts.push(h), h));
}

describe('callbacks survive a SIGKILL of the bridge', () => {
  it('a callback that failed once is delivered by the next host, with the same delivery id', async () => {
    receiver.answer = (_path, n) => ({ status: n === 1 ? 500 : 200 });
    const first = await devHost();
    const res = await fetch(
      `${first.url}/api/v1/endpoints/crash-1/commands/reboot?awaitTimeout=0&callbackUrl=${encodeURIComponent(`${receiver.url}/hook`)}`,
      { method: 'POST' },
    );
    expect(res.status).toBe(202);
    await recordEndpointResults(device, 'crash-1', 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    await waitFor(() => receiver.deliveries.length === 1, 30_000, 'the first attempt');
    // Between attempts: the failure is written down (claim released, next attempt scheduled).
    await waitFor(
      async () => (await db.sql`SELECT 1 FROM outbox WHERE kind = 'callback' AND claimed_until IS NULL AND attempts = 1`).length === 1,
      15_000,
      'the failure recorded',
    );
    await first.stop('SIGKILL');

    const [row] = await db.sql<{ attempts: number; claimed: boolean; due_in_ms: number }[]>`
      SELECT attempts, claimed_until IS NOT NULL AS claimed,
             (EXTRACT(EPOCH FROM available_at - now()) * 1000)::float8 AS due_in_ms
        FROM outbox WHERE kind = 'callback' AND endpoint_id = 'crash-1'`;
    expect(row).toMatchObject({ attempts: 1, claimed: false });
    expect(row!.due_in_ms).toBeGreaterThan(0);
    expect(receiver.deliveries).toHaveLength(1);

    // Skip the minute of backoff: the retry is due now, for whichever host runs.
    await db.sql`UPDATE outbox SET available_at = now() WHERE kind = 'callback' AND endpoint_id = 'crash-1'`;
    await devHost();
    await waitFor(() => receiver.deliveries.length === 2, 30_000, 'the second attempt, from the new host');
    await waitFor(async () => (await db.sql`SELECT 1 FROM outbox WHERE kind = 'callback'`).length === 0, 15_000, 'the row done');
    const [a, b] = receiver.deliveries;
    expect(b!.headers['x-cex-delivery-id']).toBe(a!.headers['x-cex-delivery-id']);
    expect(b!.headers['x-cex-attempt']).toBe('2');
    expect(b!.body).toBe(a!.body);
    expect(JSON.parse(b!.body)).toMatchObject({ endpointId: 'crash-1', commandId: 1, status: 'EXECUTED' });
    for (const h of hosts.splice(0)) await h.stop('SIGTERM');
  }, 60_000);

  it('a callback whose attempt was cut short by the kill is retried once its lease runs out', async () => {
    receiver.deliveries.length = 0;
    // The first request hangs: the host dies while it is in flight.
    receiver.answer = (path, n) => ({ status: 200, delayMs: path === '/hang' && n === 1 ? 30_000 : 0 });
    // A 3 s attempt timeout: the kill lands well inside it, and the lease
    // (2 x 3 s + 5 s) is what holds the row until the next host retries.
    const env = { CEX_CALLBACK_TIMEOUT_MS: '3000' };
    const first = await devHost(env);
    await fetch(
      `${first.url}/api/v1/endpoints/crash-2/commands/reboot?awaitTimeout=0&callbackUrl=${encodeURIComponent(`${receiver.url}/hang`)}`,
      { method: 'POST' },
    );
    await recordEndpointResults(device, 'crash-2', 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    await waitFor(() => receiver.deliveries.length === 1, 30_000, 'the first attempt');
    await first.stop('SIGKILL');
    const [row] = await db.sql<{ until: Date }[]>`
      SELECT claimed_until AS until FROM outbox WHERE kind = 'callback' AND endpoint_id = 'crash-2'`;
    // Claimed (before the attempt went out) for 2 x 3 s + 5 s: past the
    // attempt's own timeout, so nobody else may send it meanwhile. Read
    // against the attempt's arrival, not against the test's clock.
    const sentAt = receiver.deliveries[0]!.at;
    expect(row!.until.getTime() - sentAt).toBeGreaterThan(3_000);
    expect(row!.until.getTime() - sentAt).toBeLessThanOrEqual(11_000);

    await devHost(env);
    await waitFor(() => receiver.deliveries.length === 2, 60_000, 'the retry after the lease');
    const [a, b] = receiver.deliveries;
    expect(b!.headers['x-cex-delivery-id']).toBe(a!.headers['x-cex-delivery-id']);
    expect(b!.headers['x-cex-attempt']).toBe('2');
    // Not before the lease ran out (the row was claimed until then).
    expect(b!.at).toBeGreaterThanOrEqual(row!.until.getTime());
  }, 120_000);
});
