import { describe, expect, it } from 'vitest';
import { buildPush, isPublishableSubject, parseAnswer, pushReason, WorkQueue } from '../../shared/nats-bridge/index.js';
import { referenceType } from '../protocol/reference.js';

describe('buildPush', () => {
  const base = { endpointId: 'e-1', commandType: 'reboot', appVersionName: null, extensionInstanceName: 'cex', maxBytes: 1024 * 1024 };

  it('encodes every command when they fit, decodable with the reference schema', () => {
    const push = buildPush(
      {
        ...base,
        commands: [
          { commandId: 1, payload: { a: 1 } },
          { commandId: 2, payload: null },
        ],
      },
      1_700_000_000_000,
    );
    expect(push.included).toEqual([1, 2]);
    const decoded = referenceType('extensionData').fromBuffer(push.bytes) as Record<string, unknown>;
    expect(decoded).toMatchObject({
      timestamp: 1_700_000_000_000,
      timeout: 0,
      resourcePath: '/command/reboot',
      requestId: null,
      statusCode: 200,
    });
    expect(JSON.parse((decoded.payload as Buffer).toString())).toEqual([
      { id: 1, payload: { a: 1 } },
      { id: 2, payload: null },
    ]);
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
    // Each job waits for the test to release it: the queue's state is read while they hold.
    const release = new Map<number, () => void>();
    const done: number[] = [];
    const queue = new WorkQueue<number>(
      async (n) => {
        await new Promise<void>((r) => release.set(n, r));
        done.push(n);
      },
      { maxInFlight: 3, maxQueued: 5, maxQueuedBytes: 1_000 },
    );
    const accepted = Array.from({ length: 10 }, (_, i) => queue.push(i, 10));
    // 3 running, 5 waiting, then the message limit refuses two.
    expect(accepted).toEqual([true, true, true, true, true, true, true, true, false, false]);
    expect([queue.inFlight, queue.queued]).toEqual([3, 5]);
    expect([...release.keys()]).toEqual([0, 1, 2]);
    let idle = false;
    const idling = queue.idle().then(() => (idle = true));
    // Room for one more message but not for its bytes: the byte limit refuses it.
    release.get(0)!();
    await new Promise((r) => setImmediate(r));
    expect([queue.inFlight, queue.queued]).toEqual([3, 4]);
    expect(queue.push(99, 2_000)).toBe(false);
    expect(queue.push(98, 10)).toBe(true);
    // Release the rest in turn; idle only when nothing runs and nothing waits.
    for (let n = 1; n <= 7; n++) {
      expect(idle).toBe(false);
      await waitUntil(() => release.has(n) || n > 7);
      release.get(n)!();
    }
    await waitUntil(() => release.has(98));
    expect(idle).toBe(false);
    release.get(98)!();
    await idling;
    expect([queue.inFlight, queue.queued]).toEqual([0, 0]);
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 98]);
    // Idle again at once when there is nothing to wait for.
    await queue.idle();
  });

  it('keeps going when a job throws: the next job runs', async () => {
    const ran: number[] = [];
    const queue = new WorkQueue<number>(
      async (n) => {
        ran.push(n);
        if (n === 0) throw new Error('boom');
      },
      { maxInFlight: 1, maxQueued: 10, maxQueuedBytes: 1_000 },
    );
    queue.push(0, 1);
    queue.push(1, 1);
    await queue.idle();
    expect(ran).toEqual([0, 1]);
    expect(queue.inFlight + queue.queued).toBe(0);
  });
});

/** Lets microtasks and I/O callbacks run until `check` holds (a job just released starts the next). */
async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise((r) => setImmediate(r));
  expect(check()).toBe(true);
}
