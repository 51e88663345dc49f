import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { invokeCommand } from '../../shared/commands/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniquePrefix } from '../helpers/nats.js';
import { referenceType } from '../protocol/reference.js';
import {
  bridgeRuntime,
  collect,
  counterValue,
  restCommand,
  runBridge,
  startFakeFunctions,
  testConnection,
  uniqueNames,
  waitFor,
  type FakeFunctions,
  type Names,
  type RunningBridge,
} from './helpers.js';

let db: TestDatabase;
let fake: FakeFunctions;
let names: Names;
let nc: NatsConnection;
const bridges: RunningBridge[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeFunctions();
  names = uniqueNames();
  nc = await testConnection();
  for (let i = 0; i < 2; i++) bridges.push(await runBridge(bridgeRuntime(db.url, names, fake.url)));
});
afterAll(async () => {
  for (const b of bridges) await b.stop();
  await nc?.close();
  await fake?.close();
  await db?.drop();
});

describe('expiry sweeper with two bridges', () => {
  it('expires each due command once and answers each CIP caller once with 408', async () => {
    const reply = `kaa.v1.replica.${uniquePrefix('caller')}.cip.command-result`;
    const results = await collect(nc, reply);
    const eps = Array.from({ length: 10 }, () => uniquePrefix('ep'));
    const expiredBefore = await Promise.all(bridges.map((b) => counterValue(b.rt.metrics.commandsExpired)));
    const commands = eps.flatMap((ep) => Array.from({ length: 20 }, (_, i) => ({ ep, id: i + 1 })));
    await Promise.all(
      commands.map(({ ep, id }) =>
        invokeCommand(
          bridges[0]!.rt,
          restCommand(ep, 'reboot', {
            ttlMillis: 300,
            origin: 'cip',
            commandId: id,
            cipReplySubject: reply,
            cipCorrelationId: `${ep}/${id}`,
          }),
        ),
      ),
    );
    await waitFor(() => results.messages.length >= commands.length, 30_000, 'every 408');
    // Every command is EXPIRED and every 408 owed is published (an outbox row
    // is deleted only after its publish was flushed to the server); a flush of
    // our connection then brings in whatever the server had for us. A second
    // 408 from either sweeper would be among what arrived.
    await waitFor(
      async () => (await db.sql`SELECT 1 FROM commands WHERE endpoint_id = ANY(${eps}) AND status = 'PENDING'`).length === 0,
      30_000,
      'every command expired',
    );
    await waitFor(
      async () => (await db.sql`SELECT 1 FROM outbox WHERE endpoint_id = ANY(${eps})`).length === 0,
      30_000,
      'every 408 published',
    );
    await nc.flush();
    expect(results.messages).toHaveLength(commands.length);
    const type = referenceType('commandInvocationResult');
    const decoded = results.messages.map((m) => type.fromBuffer(Buffer.from(m.data)) as Record<string, unknown>);
    expect(new Set(decoded.map((d) => d.correlationId)).size).toBe(commands.length);
    for (const d of decoded) {
      expect(d).toMatchObject({ statusCode: 408, payload: null, appVersionName: '', commandType: 'reboot' });
      expect(d.correlationId).toBe(`${d.endpointId}/${d.commandId}`);
      expect(String(d.reasonPhrase)).toContain('expired');
    }
    const [counts] = await db.sql`SELECT count(*) FILTER (WHERE status = 'EXPIRED')::int AS expired, count(*)::int AS total
                                      FROM commands WHERE endpoint_id = ANY(${eps})`;
    expect(counts).toEqual({ expired: commands.length, total: commands.length });
    // Counted once over both sweepers (each counts just after its commit).
    const expiredBy = async () =>
      (await Promise.all(bridges.map((b) => counterValue(b.rt.metrics.commandsExpired)))).map((n, i) => n - expiredBefore[i]!);
    await waitFor(async () => (await expiredBy()).reduce((a, b) => a + b) >= commands.length, 15_000, 'the expiries counted');
    expect((await expiredBy()).reduce((a, b) => a + b)).toBe(commands.length);
    results.stop();
  });
});
