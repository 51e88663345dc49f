/**
 * End-to-end harness: the built dev host (every unit plus the nats-bridge, as
 * `make run` serves them) on a test database and the test NATS server, under
 * instance names of its own, with a NATS connection for simulators and CIP
 * callers.
 */
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  cipCommandRequestSubject,
  encodeCommandInvocationRequest,
  type CommandInvocationRequest,
  type CommandInvocationResult,
} from '../../shared/protocol/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../shared/simulator/index.js';
import { referenceType } from '../protocol/reference.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';

const cipResultType = referenceType('commandInvocationResult');

export interface E2e {
  db: TestDatabase;
  host: DevHost;
  nc: NatsConnection;
  cex: string;
  kpc: string;
  /** A simulator on this CEX and kpc, endpoints named with a fresh prefix unless given. */
  simulator(options?: Partial<SimulatorOptions>): Promise<Simulator>;
  /** POST /api/v1/endpoints/{id}/commands/{type} with a JSON body. */
  invoke(endpointId: string, commandType: string, payload: unknown, query?: Record<string, string | number>): Promise<Response>;
  /** GET the command descriptor. */
  command(endpointId: string, commandType: string, commandId: number): Promise<Record<string, unknown>>;
  /**
   * Sends a 12/CIP request; resolves with the results on its reply subject
   * once `until` arrived (or `waitMs`, a deadline, passed) and everything owed
   * for the endpoint was published: no CIP result row left in the outbox (a
   * row goes only after its publish was flushed) and a flush of our
   * connection, so a second result would be among those returned.
   */
  cip(request: Partial<CommandInvocationRequest>, waitMs: number, until?: number): Promise<CommandInvocationResult[]>;
  close(): Promise<void>;
}

export async function startE2e(env: Record<string, string> = {}): Promise<E2e> {
  const db = await createTestDatabase();
  const cex = env.CEX_INSTANCE_NAME ?? uniqueInstanceName();
  const kpc = env.KPC_INSTANCE_NAME ?? uniquePrefix('kpc');
  const host = await startDevHost({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: cex,
    KPC_INSTANCE_NAME: kpc,
    CEX_AUTH: 'off',
    CEX_LOG_LEVEL: 'warn',
    ...env,
  });
  const nc = await connect({ servers: testNatsUrl(), name: 'cex-e2e-test' });
  const simulators: Simulator[] = [];
  const api = `${host.url}/api/v1/endpoints`;
  return {
    db,
    host,
    nc,
    cex,
    kpc,
    async simulator(options = {}) {
      const sim = await startSimulator({
        nc,
        cexInstanceName: cex,
        kpcInstanceName: kpc,
        endpointPrefix: `${uniquePrefix('ep')}-`,
        ...options,
      });
      simulators.push(sim);
      return sim;
    },
    invoke(endpointId, commandType, payload, query = {}) {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
      return fetch(`${api}/${endpointId}/commands/${commandType}${qs ? `?${qs}` : ''}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    },
    async command(endpointId, commandType, commandId) {
      const res = await fetch(`${api}/${endpointId}/commands/${commandType}/${commandId}`);
      if (res.status !== 200) throw new Error(`GET command: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async cip(over, waitMs, until = 1) {
      const reply = `kaa.v1.replica.${uniquePrefix('caller')}.cip.command-result`;
      const results: CommandInvocationResult[] = [];
      const sub = nc.subscribe(reply);
      const collected = (async () => {
        for await (const msg of sub) {
          results.push({ ...(cipResultType.fromBuffer(Buffer.from(msg.data)) as CommandInvocationResult) });
          if (results.length >= until) break;
        }
      })();
      await nc.flush();
      const request: CommandInvocationRequest = {
        correlationId: randomUUID(),
        timestamp: Date.now(),
        timeout: 0,
        endpointId: 'e-1',
        commandType: 'reboot',
        commandId: 1,
        payload: null,
        ...over,
      };
      nc.publish(cipCommandRequestSubject(cex), encodeCommandInvocationRequest(request), { reply });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([collected, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
      await eventually(
        async () =>
          (await db.sql`SELECT 1 FROM outbox WHERE kind = 'cip_result' AND endpoint_id = ${request.endpointId}`).length === 0
            ? true
            : undefined,
        30_000,
        'the CIP results published',
      );
      await nc.flush();
      sub.unsubscribe();
      return results;
    },
    async close() {
      for (const sim of simulators) await sim.stop().catch(() => undefined);
      await nc.drain().catch(() => undefined);
      await host.stop('SIGTERM');
      await db.drop();
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
