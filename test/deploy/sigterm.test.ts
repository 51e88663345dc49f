import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { createImageLayout, type ImageLayout } from './image-layout.js';
import { startUnit, type UnitProcess } from './unit-process.js';

// SIGTERM on a command-submit pod holding sync invokes (what Knative sends
// after the queue-proxy drain, or the kubelet on a node drain): every request
// gets an answer (202 with the descriptor: the command is stored and will
// run), every command is in the database, and the process exits 0 before
// CEX_SHUTDOWN_GRACE_MS runs out. Shown without timing the shutdown: the
// waiters' awaitTimeout (30 s) is far past the grace (5 s), so a 202 can only
// come from the shutdown releasing them; and the host logs "shutdown grace
// period over" when it had to cut connections at the end of the grace.

const GRACE_MS = 5000;
const IN_FLIGHT = 25;

interface Outcome {
  status: number | 'error';
  location?: string | null;
  body?: { commandId?: number; status?: string; code?: string };
  error?: string;
}

function invoke(unit: UnitProcess, endpointId: string, i: number): Promise<Outcome> {
  return fetch(`${unit.url}/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=30`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ i }),
  }).then(
    async (res) => ({ status: res.status, location: res.headers.get('location'), body: (await res.json()) as Outcome['body'] }),
    (err: Error) => ({ status: 'error' as const, error: String((err.cause as Error | undefined)?.message ?? err.message) }),
  );
}

async function waiters(unit: UnitProcess): Promise<number> {
  const text = await (await fetch(`${unit.url}/metrics`)).text();
  return Number(/^cex_sync_waiters (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Polls the waiter gauge until it reaches `count` (the deadline only bounds a failing wait). */
async function untilWaiting(unit: UnitProcess, count: number): Promise<void> {
  for (const deadline = Date.now() + 30_000; (await waiters(unit)) < count; await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} invokes waiting after 30 s:\n${unit.output()}`);
  }
}

const GRACE_CUT = 'shutdown grace period over';

describe('SIGTERM with sync invokes in flight', () => {
  let layout: ImageLayout;
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    [layout, db] = await Promise.all([createImageLayout(), createTestDatabase()]);
    env = {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      CEX_AUTH: 'off',
      CEX_INSTANCE_NAME: uniqueInstanceName(),
      CEX_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    };
  });
  afterAll(async () => {
    await layout?.remove();
    await db?.drop();
  });

  it('answers every waiting request with 202, keeps every command, and exits 0 within the grace period', async () => {
    const unit = await startUnit(layout, 'command-submit', env);
    try {
      const pending = Array.from({ length: IN_FLIGHT }, (_, i) => invoke(unit, 'e-sigterm', i));
      await untilWaiting(unit, IN_FLIGHT);
      unit.proc.kill('SIGTERM');
      const outcomes = await Promise.all(pending);
      const code = await unit.exited;

      expect(
        outcomes.filter((o) => o.status !== 202),
        unit.output(),
      ).toEqual([]);
      for (const o of outcomes) {
        expect(o.body?.status).toBe('PENDING');
        expect(o.location).toBe(`/api/v1/endpoints/e-sigterm/commands/reboot/${o.body?.commandId}`);
      }
      expect(code, unit.output()).toBe(0);
      // Nothing left to wait for: no idle keep-alive socket held the exit until the grace ran out.
      expect(unit.output()).not.toContain(GRACE_CUT);
      expect(unit.output()).toContain('"msg":"stopped"');

      const rows = await db.sql<
        { command_id: number }[]
      >`SELECT command_id FROM commands WHERE endpoint_id = 'e-sigterm' ORDER BY command_id`;
      expect(rows.map((r) => Number(r.command_id))).toEqual(outcomes.map((o) => o.body!.commandId!).sort((a, b) => a - b));
      expect(rows).toHaveLength(IN_FLIGHT);
    } finally {
      await unit.stop('SIGKILL');
    }
  }, 60_000);

  it('stores no command whose caller got no 202 when SIGTERM lands while invokes are still arriving, and exits 0 before the grace runs out', async () => {
    const unit = await startUnit(layout, 'command-submit', env);
    try {
      const pending: Promise<Outcome>[] = [];
      // Invokes keep arriving every 5 ms (pacing the arrivals, not waiting for
      // anything); SIGTERM lands once the first one waits, while others are
      // still being stored or are on their way.
      const sending = (async () => {
        for (let i = 0; i < 60; i++) {
          pending.push(invoke(unit, 'e-racing', i));
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await untilWaiting(unit, 1);
      unit.proc.kill('SIGTERM');
      await sending;
      const outcomes = await Promise.all(pending);
      const code = await unit.exited;

      // Stored and answered (202); refused before anything was stored (503
      // SHUTTING_DOWN); or no HTTP answer at all: the listener had closed
      // (ECONNREFUSED), or the kernel had queued the connection that close()
      // then reset (ECONNRESET). Behind Knative none of the last kind occurs:
      // the queue-proxy drains before SIGTERM reaches the container.
      const answered = outcomes.filter((o) => o.status === 202);
      const refused = outcomes.filter((o) => o.status === 503 && o.body?.code === 'SHUTTING_DOWN');
      const unanswered = outcomes.filter((o) => o.status === 'error');
      expect(
        outcomes.filter((o) => !answered.includes(o) && !refused.includes(o) && !unanswered.includes(o)),
        unit.output(),
      ).toEqual([]);
      expect(answered.length).toBeGreaterThan(0);
      // ...and none of those without an answer had its command stored.
      const rows = await db.sql<
        { command_id: number }[]
      >`SELECT command_id FROM commands WHERE endpoint_id = 'e-racing' ORDER BY command_id`;
      expect(
        rows.map((r) => Number(r.command_id)),
        'every stored command was answered',
      ).toEqual(answered.map((o) => o.body!.commandId!).sort((a, b) => a - b));
      expect(code, unit.output()).toBe(0);
      expect(unit.output()).not.toContain(GRACE_CUT);
    } finally {
      await unit.stop('SIGKILL');
    }
  }, 60_000);
});
