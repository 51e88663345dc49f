/**
 * 12/CIP over real NATS: caller → bridge → command-submit → push → simulated
 * endpoint → esp-inbound → outbox → bridge → caller, through the dev host.
 * Every result is decoded with the reference schema (e2e-host.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cipCommandRequestSubject, encodeCommandInvocationRequest } from '../../shared/protocol/index.js';
import { eventually, startE2e, type E2e } from './e2e-host.js';

let e2e: E2e;
beforeAll(async () => {
  e2e = await startE2e();
}, 90_000);
afterAll(async () => e2e?.close());

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('12/CIP end to end', () => {
  it("success: the endpoint's result comes back once, with the caller's correlationId, id and the endpoint's app version", async () => {
    const sim = await e2e.simulator({
      handlers: { unlock: (c) => ({ statusCode: 200, reasonPhrase: 'unlocked', payload: { got: c.payload } }) },
    });
    const [endpointId] = sim.endpointIds;
    const results = await e2e.cip(
      { correlationId: 'cip-ok-1', endpointId, commandType: 'unlock', commandId: 77, payload: json({ pin: 1 }) },
      30_000,
    );
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      correlationId: 'cip-ok-1',
      endpointId,
      commandType: 'unlock',
      commandId: 77,
      statusCode: 200,
      reasonPhrase: 'unlocked',
      appVersionName: 'sim-app-v1',
    });
    expect(JSON.parse(results[0]!.payload!.toString())).toEqual({ got: { pin: 1 } });
    expect(sim.executedIds(endpointId!, 'unlock')).toEqual([77]);
    expect(await e2e.command(endpointId!, 'unlock', 77)).toMatchObject({ status: 'EXECUTED', requestPayload: { pin: 1 } });
  });

  it.each([
    ['a bad endpoint id', { endpointId: 'bad id' }, /invalid endpointId/],
    ['a bad command type', { commandType: 'no.dots' }, /invalid commandType/],
    ['command id 0', { commandId: 0 }, /invalid commandId/],
    ['a payload that is not JSON', { payload: Buffer.from('{{') }, /not valid JSON/],
  ])('400 at once for %s', async (_label, over, reason) => {
    const results = await e2e.cip({ correlationId: 'cip-400', ...over }, 30_000);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ correlationId: 'cip-400', statusCode: 400, appVersionName: '', payload: null });
    expect(results[0]!.reasonPhrase).toMatch(reason);
  });

  it('409 for the same id with another payload; the same payload again is a retry answered with the known result', async () => {
    const sim = await e2e.simulator();
    const [endpointId] = sim.endpointIds;
    const first = await e2e.cip({ endpointId, commandId: 5, payload: json('a') }, 30_000);
    expect(first[0]).toMatchObject({ statusCode: 200, commandId: 5 });
    const conflict = await e2e.cip({ correlationId: 'cip-409', endpointId, commandId: 5, payload: json('b') }, 30_000);
    expect(conflict).toHaveLength(1);
    expect(conflict[0]).toMatchObject({ correlationId: 'cip-409', statusCode: 409 });
    const retry = await e2e.cip({ correlationId: 'cip-retry', endpointId, commandId: 5, payload: json('a') }, 30_000);
    expect(retry).toHaveLength(1);
    expect(retry[0]).toMatchObject({ correlationId: 'cip-retry', statusCode: 200 });
    expect(JSON.parse(retry[0]!.payload!.toString())).toBe('a');
    expect(sim.executedIds(endpointId!)).toEqual([5]);
  });

  it('408 when the command expires first (TTL = the request timeout)', async () => {
    const sim = await e2e.simulator({ observe: false });
    const [endpointId] = sim.endpointIds;
    const results = await e2e.cip({ correlationId: 'cip-408', endpointId, commandId: 9, timeout: 500 }, 30_000);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ correlationId: 'cip-408', statusCode: 408, commandId: 9, endpointId });
    expect(sim.executedIds(endpointId!)).toEqual([]);
    expect((await e2e.command(endpointId!, 'reboot', 9)).status).toBe('EXPIRED');
  });

  it('without a reply subject the command still runs', async () => {
    const sim = await e2e.simulator();
    const [endpointId] = sim.endpointIds;
    const request = {
      correlationId: 'no-reply',
      timestamp: Date.now(),
      timeout: 0,
      endpointId: endpointId!,
      commandType: 'reboot',
      commandId: 3,
      payload: null,
    };
    e2e.nc.publish(cipCommandRequestSubject(e2e.cex), encodeCommandInvocationRequest(request));
    await eventually(() => (sim.executedIds(endpointId!).includes(3) ? true : undefined), 10_000, 'executed');
    await eventually(
      async () => ((await e2e.command(endpointId!, 'reboot', 3)).status === 'EXECUTED' ? true : undefined),
      10_000,
      'EXECUTED',
    );
  });
});
