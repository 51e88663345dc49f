/**
 * The console tests' stage: the built dev host (every unit, the bridge and
 * /console, as `make run` serves them) on a database of this file, the test
 * NATS server under instance names of its own, and simulated endpoints.
 * (test/endpoint/e2e-host.ts has the same plus 12/CIP, whose reference
 * schemas the console does not need.)
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../shared/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';

export interface Stage {
  host: DevHost;
  /** A simulator on this CEX, endpoints named with a fresh prefix unless given. */
  simulator(options?: Partial<SimulatorOptions>): Promise<Simulator>;
  /** POST /api/v1/endpoints/{id}/commands/{type} with a JSON body (and a bearer token when given). */
  invoke(
    endpointId: string,
    commandType: string,
    payload: unknown,
    query?: Record<string, string | number>,
    token?: string,
  ): Promise<Response>;
  /** GET one command's descriptor. */
  command(endpointId: string, commandType: string, commandId: number, token?: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startStage(env: Record<string, string> = {}): Promise<Stage> {
  const db: TestDatabase = await createTestDatabase();
  const cex = uniqueInstanceName();
  const kpc = uniquePrefix('kpc');
  const host = await startDevHost({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: cex,
    KPC_INSTANCE_NAME: kpc,
    CEX_AUTH: 'off',
    CEX_LOG_LEVEL: 'warn',
    ...env,
  });
  let nc: NatsConnection | undefined;
  const simulators: Simulator[] = [];
  const api = `${host.url}/api/v1/endpoints`;
  const auth = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  return {
    host,
    async simulator(options = {}) {
      nc ??= await connect({ servers: testNatsUrl(), name: 'cex-console-test' });
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
    invoke(endpointId, commandType, payload, query = {}, token) {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
      return fetch(`${api}/${endpointId}/commands/${commandType}${qs ? `?${qs}` : ''}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(token) },
        body: JSON.stringify(payload),
      });
    },
    async command(endpointId, commandType, commandId, token) {
      const res = await fetch(`${api}/${endpointId}/commands/${commandType}/${commandId}`, { headers: auth(token) });
      if (res.status !== 200) throw new Error(`GET command: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async close() {
      for (const sim of simulators) await sim.stop().catch(() => undefined);
      await nc?.drain().catch(() => undefined);
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
