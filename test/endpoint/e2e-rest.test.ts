/**
 * REST → NATS → simulated endpoint → NATS → REST, through the built dev host
 * (functions and bridge) on real Postgres and NATS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startE2e, type E2e } from './e2e-host.js';
import { untilDatabaseTimePasses } from '../helpers/wait.js';

let e2e: E2e;
beforeAll(async () => {
  e2e = await startE2e();
}, 90_000);
afterAll(async () => e2e?.close());

/**
 * Everything CEX owed the endpoint over NATS is published: its outbox rows
 * are gone (deleted only after the publish was flushed to the server), and a
 * flush of our connection brings in what the server had for us. Stands in
 * for "wait a while and see that nothing came".
 */
async function allPublished(endpointId: string): Promise<void> {
  await eventually(
    async () => ((await e2e.db.sql`SELECT 1 FROM outbox WHERE endpoint_id = ${endpointId}`).length === 0 ? true : undefined),
    30_000,
    'the outbox rows handled',
  );
  await e2e.nc.flush();
}

const storedCommands = async (endpointId: string) =>
  (await e2e.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands WHERE endpoint_id = ${endpointId}`)[0]!.n;

describe('end to end through the dev host', () => {
  it('sync invoke: pushed to the observing endpoint, executed once, answered 200 with its payload', async () => {
    const sim = await e2e.simulator({
      handlers: { reboot: (c) => ({ statusCode: 201, reasonPhrase: 'rebooted now', payload: { echo: c.payload } }) },
    });
    const [endpoint] = sim.endpointIds;
    const res = await e2e.invoke(endpoint!, 'reboot', { delay: 1 }, { awaitTimeout: 10 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echo: { delay: 1 } });
    expect(res.headers.get('x-command-status-code')).toBe('201');
    expect(decodeURIComponent(res.headers.get('x-command-reason-phrase')!)).toBe('rebooted now');
    const id = Number(res.headers.get('x-command-id'));
    expect(sim.executedIds(endpoint!)).toEqual([id]);
    expect(await e2e.command(endpoint!, 'reboot', id)).toMatchObject({ status: 'EXECUTED', statusCode: 201, appVersionName: 'sim-app-v1' });
  });

  it('async invoke with observe false: no push; the endpoint polls, executes, and the result is read back', async () => {
    const sim = await e2e.simulator({ observe: false });
    const [endpoint] = sim.endpointIds;
    const res = await e2e.invoke(endpoint!, 'close-door', 'now', { awaitTimeout: 0 });
    expect(res.status).toBe(202);
    const { commandId } = (await res.json()) as { commandId: number };
    expect(res.headers.get('location')).toBe(`/api/v1/endpoints/${endpoint}/commands/close-door/${commandId}`);
    await allPublished(endpoint!);
    expect(sim.stats().pushesReceived).toBe(0);
    expect(sim.executedIds(endpoint!)).toEqual([]);
    const answer = await sim.poll(endpoint!, 'close-door', null);
    expect(JSON.parse(answer.payload!.toString())).toEqual([{ id: commandId, payload: 'now' }]);
    const done = await eventually(
      async () => {
        const d = await e2e.command(endpoint!, 'close-door', commandId);
        return d.status === 'EXECUTED' ? d : undefined;
      },
      10_000,
      'EXECUTED',
    );
    expect(done).toMatchObject({ statusCode: 200, reasonPhrase: 'OK', responsePayload: 'now' });
    expect((done.delivery as { fetchedAt: string | null }).fetchedAt).not.toBeNull();
  });

  it('observe true after false: later commands are pushed again', async () => {
    const sim = await e2e.simulator({ observe: false });
    const [endpoint] = sim.endpointIds;
    await sim.poll(endpoint!, null, true);
    const res = await e2e.invoke(endpoint!, 'reboot', 1, { awaitTimeout: 10 });
    expect(res.status).toBe(200);
    expect(sim.stats().pushesReceived).toBeGreaterThanOrEqual(1);
  });

  it('results over NATS: both forms, duplicates accepted, unknown 404, different 409, expired 410', async () => {
    // observe false (sent by the poll at start): the results below are the test's, not the simulator's.
    const sim = await e2e.simulator({ observe: false });
    const [endpoint] = sim.endpointIds;
    const ids: number[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(((await (await e2e.invoke(endpoint!, 'reboot', i, { awaitTimeout: 0 })).json()) as { commandId: number }).commandId);
    const shortDescriptor = (await (await e2e.invoke(endpoint!, 'reboot', 'x', { awaitTimeout: 0, commandTtl: 200 })).json()) as {
      commandId: number;
      expiresAt: string;
    };
    const short = shortDescriptor.commandId;
    const array = await sim.request(endpoint!, '/result/reboot', [
      { id: ids[0], statusCode: 200 },
      { id: ids[1], statusCode: 200 },
    ]);
    expect(array).toMatchObject({ statusCode: 200, reasonPhrase: 'OK', resourcePath: '/result/reboot', endpointId: endpoint });
    expect((await sim.request(endpoint!, '/result/reboot', { id: ids[2], statusCode: 200 })).statusCode).toBe(200);
    expect((await sim.request(endpoint!, '/result/reboot', { id: ids[2], statusCode: 200 })).statusCode).toBe(200);
    expect((await sim.request(endpoint!, '/result/reboot', { id: ids[2], statusCode: 500 })).statusCode).toBe(409);
    expect((await sim.request(endpoint!, '/result/reboot', { id: 999_999, statusCode: 200 })).statusCode).toBe(404);
    await untilDatabaseTimePasses(e2e.db.sql, new Date(shortDescriptor.expiresAt));
    const late = await sim.request(endpoint!, '/result/reboot', { id: short, statusCode: 200 });
    expect(late.statusCode).toBe(410);
    expect(JSON.parse(late.payload!.toString())).toEqual({ statusCode: 410, reasonPhrase: `expired command id ${short}` });
    expect((await sim.request(endpoint!, '/nothing', {})).statusCode).toBe(400);
  });

  it('expiry: a command nobody fetched becomes EXPIRED and is never returned to a poll', async () => {
    const sim = await e2e.simulator({ observe: false });
    const [endpoint] = sim.endpointIds;
    const res = await e2e.invoke(endpoint!, 'reboot', null, { awaitTimeout: 0, commandTtl: 300 });
    const { commandId } = (await res.json()) as { commandId: number };
    await eventually(
      async () => ((await e2e.command(endpoint!, 'reboot', commandId)).status === 'EXPIRED' ? true : undefined),
      10_000,
      'EXPIRED',
    );
    const answer = await sim.poll(endpoint!, 'reboot', null);
    expect(JSON.parse(answer.payload!.toString())).toEqual([]);
  });

  it('zero TTL: pushed once to an observing endpoint and answered while the caller waits', async () => {
    const sim = await e2e.simulator();
    const [endpoint] = sim.endpointIds;
    const res = await e2e.invoke(endpoint!, 'reboot', 'once', { awaitTimeout: 10, commandTtl: 0 });
    expect(res.status).toBe(200);
    expect(await res.json()).toBe('once');
  });

  it('zero TTL to an endpoint that does not observe: never returned to a poll; the caller gets 202 EXPIRED', async () => {
    const sim = await e2e.simulator({ observe: false });
    const [endpoint] = sim.endpointIds;
    const pending = e2e.invoke(endpoint!, 'reboot', 'once', { awaitTimeout: 1, commandTtl: 0 });
    // Stored first: an empty poll before the command exists would prove nothing.
    await eventually(async () => ((await storedCommands(endpoint!)) === 1 ? true : undefined), 30_000, 'the command stored');
    expect(JSON.parse((await sim.poll(endpoint!, 'reboot', null)).payload!.toString())).toEqual([]);
    const res = await pending;
    expect(res.status).toBe(202);
    const descriptor = (await res.json()) as { commandId: number; status: string };
    const final = await eventually(
      async () => {
        const d = await e2e.command(endpoint!, 'reboot', descriptor.commandId);
        return d.status === 'PENDING' ? undefined : d;
      },
      10_000,
      'final status',
    );
    expect(final.status).toBe('EXPIRED');
    expect(sim.executedIds(endpoint!)).toEqual([]);
  });

  it('9/ELCE: an endpoint that was offline gets its outstanding commands pushed when it connects', async () => {
    const first = await e2e.simulator({ pollOnStart: false });
    const [endpoint] = first.endpointIds;
    await first.stop(); // publishes disconnected
    await eventually(
      async () =>
        (await e2e.db.sql`SELECT 1 FROM endpoint_state WHERE endpoint_id = ${endpoint!} AND online = false`).length === 1
          ? true
          : undefined,
      30_000,
      'the endpoint offline',
    );
    const res = await e2e.invoke(endpoint!, 'reboot', 'while-away', { awaitTimeout: 0 });
    const { commandId } = (await res.json()) as { commandId: number };
    // Its push was skipped (offline), not sent.
    await allPublished(endpoint!);
    expect(await e2e.db.sql`SELECT push_count FROM commands WHERE endpoint_id = ${endpoint!}`).toEqual([{ push_count: 0 }]);
    const again = await e2e.simulator({ endpointIds: [endpoint!], pollOnStart: false });
    await eventually(() => (again.executedIds(endpoint!).length > 0 ? true : undefined), 10_000, 'push on connect');
    expect(again.executedIds(endpoint!)).toEqual([commandId]);
    expect(again.executions()[0]!.command.via).toBe('push');
  });

  it('many endpoints: every command executed exactly once and every result accepted', async () => {
    const sim = await e2e.simulator({ endpoints: 20, delayMs: 5 });
    const calls = sim.endpointIds.flatMap((endpoint) =>
      [1, 2, 3].map((n) => e2e.invoke(endpoint, n === 3 ? 'other' : 'reboot', n, { awaitTimeout: 15 })),
    );
    const responses = await Promise.all(calls);
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    await sim.idle();
    const stats = sim.stats();
    expect(stats.commandsExecuted).toBe(60);
    expect(stats.resultsAccepted).toBe(60);
    expect(stats.resultsRefused).toBe(0);
    for (const endpoint of sim.endpointIds) expect(sim.executedIds(endpoint).length).toBe(3);
  }, 60_000);
});
