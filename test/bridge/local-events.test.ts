import { describe, expect, it } from 'vitest';
import { LocalEventDesk, type LocalAnswer, type LocalEventHandler } from '../../shared/bridge/local-events.js';
import { postEvent } from '../../shared/nats-bridge/forward.js';

const SETTINGS = { timeoutMs: 200, retryDelaysMs: [5, 5] };
const headers = { 'ce-id': 'e-1', 'ce-type': 'org.example.test' };
const body = Buffer.from('data');

/** A handler that answers `answers` in turn (the last one for ever) and counts its calls. */
function scripted(...answers: (LocalAnswer | 'hang')[]): LocalEventHandler & { calls: number } {
  const handler = Object.assign(
    async () => {
      const next = answers[Math.min(handler.calls++, answers.length - 1)]!;
      return next === 'hang' ? new Promise<LocalAnswer>(() => undefined) : next;
    },
    { calls: 0 },
  );
  return handler;
}

// An address nothing listens on: a test that reached the network would fail.
const UNREACHABLE = 'http://127.0.0.1:9/units/esp-inbound';

describe('forwarding to a unit of the same process (LocalEventDesk)', () => {
  it('finds only the URLs registered, and forgets them when unserved', () => {
    const desk = new LocalEventDesk();
    const handler = scripted({ status: 204 });
    const off = desk.serve('http://127.0.0.1:8080/units/esp-inbound', handler);
    expect(desk.lookup('http://127.0.0.1:8080/units/esp-inbound')).toBe(handler);
    expect(desk.lookup('http://esp-inbound.cex.svc.cluster.local')).toBeUndefined();
    off();
    expect(desk.lookup('http://127.0.0.1:8080/units/esp-inbound')).toBeUndefined();
  });

  it('gives the messages of a 200, nothing for a 204, and never touches the network', async () => {
    const publish = [{ subject: 'a.b', data: Buffer.from('x').toString('base64') }];
    const ok = await postEvent(
      UNREACHABLE,
      headers,
      body,
      SETTINGS,
      new AbortController().signal,
      () => true,
      scripted({ status: 200, publish }),
    );
    expect(ok).toMatchObject({ outcome: 'answered', status: 200, attempts: 1, publish });
    const empty = await postEvent(
      UNREACHABLE,
      headers,
      body,
      SETTINGS,
      new AbortController().signal,
      () => true,
      scripted({ status: 204 }),
    );
    expect(empty).toMatchObject({ outcome: 'answered', status: 204, publish: [] });
  });

  it('does not retry a refused event (4xx), retries a 5xx and a hung unit, like a POST', async () => {
    const refused = scripted({ status: 400, error: 'bad event' });
    const r = await postEvent(UNREACHABLE, headers, body, SETTINGS, new AbortController().signal, () => true, refused);
    expect(r).toMatchObject({ outcome: 'rejected', status: 400, attempts: 1, error: 'bad event' });
    expect(refused.calls).toBe(1);

    const flaky = scripted({ status: 503, error: 'db down' }, 'hang', { status: 204 });
    const f = await postEvent(UNREACHABLE, headers, body, SETTINGS, new AbortController().signal, () => true, flaky);
    expect(f).toMatchObject({ outcome: 'answered', status: 204, attempts: 3 });

    const down = scripted({ status: 500, error: 'boom' });
    const d = await postEvent(UNREACHABLE, headers, body, SETTINGS, new AbortController().signal, () => true, down);
    expect(d).toMatchObject({ outcome: 'failed', status: 500, attempts: 3 });

    const invalid = scripted({ status: 200, error: 'not a FunctionAnswer' });
    const i = await postEvent(UNREACHABLE, headers, body, SETTINGS, new AbortController().signal, () => true, invalid);
    expect(i).toMatchObject({ outcome: 'invalid_answer', attempts: 1 });
  });
});
