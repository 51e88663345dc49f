import { describe, expect, it } from 'vitest';
import { buildPush, isPublishableSubject, parseAnswer, pushReason, WorkQueue } from '../../shared/bridge/index.js';
import { referenceType } from '../protocol/reference.js';

describe('buildPush', () => {
  const base = { endpointId: 'e-1', commandType: 'reboot', appVersionName: null, extensionInstanceName: 'cex', maxBytes: 1024 * 1024 };

  it('encodes every command when they fit, decodable with the reference schema', () => {
    const push = buildPush({ ...base, commands: [{ commandId: 1, payload: { a: 1 } }, { commandId: 2, payload: null }] }, 1_700_000_000_000);
    expect(push.included).toEqual([1, 2]);
    const decoded = referenceType('extensionData').fromBuffer(push.bytes) as Record<string, unknown>;
    expect(decoded).toMatchObject({ timestamp: 1_700_000_000_000, timeout: 0, resourcePath: '/command/reboot', requestId: null, statusCode: 200 });
    expect(JSON.parse((decoded.payload as Buffer).toString())).toEqual([{ id: 1, payload: { a: 1 } }, { id: 2, payload: null }]);
  });

  it('keeps the oldest commands that fit under the NATS payload limit and leaves out oversize ones', () => {
    const big = 'x'.repeat(400);
    const commands = [
      { commandId: 1, payload: 'x'.repeat(5_000) },
      ...Array.from({ length: 10 }, (_, i) => ({ commandId: i + 2, payload: big })),
    ];
    const push = buildPush({ ...base, commands, maxBytes: 2_000 });
    expect(push.oversize).toEqual([1]);
    expect(push.included).toEqual([2, 3, 4, 5]); // 4 × ~424 bytes fit in 2,000; 5 do not
    expect(push.bytes.length).toBeLessThanOrEqual(2_000);
  });
});

describe('small pieces', () => {
  it('labels the reason of a push', () => {
    const c = (pushCount: number, repushDue: boolean) => ({ commandId: 1, payload: null, pushOnce: false, pushCount, repushDue });
    expect(pushReason([c(1, false), c(0, false)])).toBe('new');
    expect(pushReason([c(2, true)])).toBe('repush');
    expect(pushReason([c(2, false)])).toBe('connect');
  });

  it('accepts only FunctionAnswers', () => {
    expect(parseAnswer('{"publish":[]}')).toEqual([]);
    expect(parseAnswer('{"publish":[{"subject":"a.b","data":"AA=="}]}')).toEqual([{ subject: 'a.b', data: 'AA==' }]);
    for (const bad of ['', 'null', '[]', '{"publish":{}}', '{"publish":[{"subject":"","data":""}]}', '{"publish":[{"subject":"a"}]}']) {
      expect(parseAnswer(bad)).toBeUndefined();
    }
  });

  it('refuses reply subjects NATS would not publish to', () => {
    expect(isPublishableSubject('kaa.v1.replica.r1.cip.command-result')).toBe(true);
    for (const bad of ['', 'a..b', '.a', 'a.*', 'a.>', 'a b', 'a.b.']) expect(isPublishableSubject(bad)).toBe(false);
  });
});

describe('WorkQueue', () => {
  it('runs at most maxInFlight at once, queues up to its limits, and reports idle', async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    const queue = new WorkQueue<number>(
      async (n) => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        done.push(n);
      },
      { maxInFlight: 3, maxQueued: 5, maxQueuedBytes: 1_000 },
    );
    const accepted = Array.from({ length: 10 }, (_, i) => queue.push(i, 10));
    expect(accepted).toEqual([true, true, true, true, true, true, true, true, false, false]);
    expect(queue.push(99, 2_000)).toBe(false);
    await queue.idle();
    expect(peak).toBe(3);
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await queue.idle();
  });

  it('keeps going when a job throws', async () => {
    const queue = new WorkQueue<number>(async (n) => {
      if (n === 0) throw new Error('boom');
    }, { maxInFlight: 1, maxQueued: 10, maxQueuedBytes: 1_000 });
    queue.push(0, 1);
    queue.push(1, 1);
    await queue.idle();
    expect(queue.inFlight + queue.queued).toBe(0);
  });
});
