import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { outboxLag } from '../../shared/store/index.js';

// The lag gauges (cex_outbox_lag_seconds by kind, cex_callbacks_waiting) are
// read in one statement by the bridge's lag loop: the age of the oldest row
// that is due per kind, and every callback row, due or backing off.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.sql`TRUNCATE outbox`;
});

const row = (kind: string, commandId: number | null, availableAt: string) =>
  db.sql`INSERT INTO outbox (kind, endpoint_id, command_type, command_id, available_at)
         VALUES (${kind}, 'e-1', 'reboot', ${commandId}, now() + ${availableAt}::interval)`;

describe('outboxLag', () => {
  it('is all zero on an empty outbox', async () => {
    expect(await outboxLag(db.sql)).toEqual({ push: 0, cipResult: 0, callback: 0, callbacksWaiting: 0 });
  });

  it('ages the oldest due row of each kind, and counts callbacks waiting whether due or backing off', async () => {
    await row('push', null, '-30 seconds');
    await row('cip_result', 1, '-10 seconds');
    await row('callback', 1, '-20 seconds');
    await row('callback', 2, '-5 seconds');
    await row('callback', 3, '+1 hour'); // backing off after failed attempts: waiting, not due
    const lag = await outboxLag(db.sql);
    expect(lag.push).toBeGreaterThanOrEqual(30);
    expect(lag.push).toBeLessThan(40);
    expect(lag.cipResult).toBeGreaterThanOrEqual(10);
    expect(lag.cipResult).toBeLessThan(20);
    expect(lag.callback).toBeGreaterThanOrEqual(20);
    expect(lag.callback).toBeLessThan(30);
    expect(lag.callbacksWaiting).toBe(3);
  });

  it('does not age rows that are not due yet', async () => {
    await row('callback', 1, '+10 minutes');
    await row('push', null, '+1 minute');
    expect(await outboxLag(db.sql)).toEqual({ push: 0, cipResult: 0, callback: 0, callbacksWaiting: 1 });
  });
});
