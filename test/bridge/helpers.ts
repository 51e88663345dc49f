/**
 * Bridge test kit: a runtime on a test database, a local HTTP server standing
 * in for the functions (so the bridge is tested alone), and NATS helpers.
 */
import http from 'node:http';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../shared/config/index.js';
import { buildServices, type Services as Runtime } from '../../shared/roots/services.js';
import { DEFAULT_DRAINER_SETTINGS, startBridge, type Bridge, type BridgeSettings } from '../../shared/nats-bridge/index.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';

/** One request the fake functions received. */
export interface Received {
  unit: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** What the fake answers: a status and body (after `delayMs`), or `destroy`: the socket is cut with no answer (a network-level failure). */
export type FakeAnswer = { status: number; body?: unknown; delayMs?: number; destroy?: boolean };
export type Responder = (req: Received) => FakeAnswer | Promise<FakeAnswer>;

/** The fake functions: every request is recorded and answered by `respond` (default 204). */
export interface FakeFunctions {
  url: string;
  received: Received[];
  respond: Responder;
  close(): Promise<void>;
}

export async function startFakeFunctions(): Promise<FakeFunctions> {
  const fake: FakeFunctions = {
    url: '',
    received: [],
    respond: () => ({ status: 204 }),
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const received: Received = { unit: path.split('/')[1] ?? '', path, headers: req.headers, body: Buffer.concat(chunks) };
      fake.received.push(received);
      void Promise.resolve(fake.respond(received)).then(async (answer) => {
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
        if (answer.destroy) return void req.socket.destroy();
        if (answer.body === undefined) res.writeHead(answer.status).end();
        else res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  fake.url = `http://127.0.0.1:${address.port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

/** Names a test file gives its bridges so no other file's messages reach them. */
export interface Names {
  instance: string;
  kpc: string;
  scmpProvider: string;
}

export function uniqueNames(): Names {
  return { instance: uniqueInstanceName(), kpc: uniquePrefix('kpc'), scmpProvider: uniquePrefix('tekton') };
}

/** A runtime like the bridge process builds, on the test database and NATS. */
export function bridgeRuntime(databaseUrl: string, names: Names, functionsUrl: string, env: Record<string, string> = {}): Runtime {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: names.instance,
    // The default replica id is drawn once per process: two bridges of one
    // test would share it (and its replica subject), each forwarding the
    // other's direct messages.
    CEX_REPLICA_ID: uniquePrefix('replica'),
    KPC_INSTANCE_NAME: names.kpc,
    KAA_SCMP_PROVIDER: names.scmpProvider,
    CEX_COMMAND_SUBMIT_URL: `${functionsUrl}/command-submit`,
    CEX_ESP_INBOUND_URL: `${functionsUrl}/esp-inbound`,
    CEX_SCMP_CONFIG_RELOAD_URL: `${functionsUrl}/scmp-config-reload`,
    CEX_LOG_LEVEL: process.env.CEX_TEST_LOG_LEVEL ?? 'silent',
    CEX_SHUTDOWN_GRACE_MS: '5000',
    CEX_DB_POOL_MAX: '5',
    CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    ...env,
  });
  return buildServices(config, 'nats-bridge');
}

/**
 * Short intervals so tests do not wait on production pacing. Timeouts and
 * leases stay long (production's or more): on a busy machine a 2 s forward
 * timeout or row lease ran out under load, and the retry that followed
 * delivered a message twice (seen in forwarding.test.ts with two bridges).
 * A test about a timeout or a lease sets its own.
 */
export const FAST: Partial<BridgeSettings> = {
  forward: { timeoutMs: 15_000, retryDelaysMs: [20, 40, 80] },
  drainer: { ...DEFAULT_DRAINER_SETTINGS, batchSize: 50, leaseMs: 15_000, parallel: 8, flushTimeoutMs: 10_000, intervalMs: 200 },
  maintenance: {
    repushIntervalMs: 50,
    sweepIntervalMs: 100,
    sweepBatch: 1000,
    purgeIntervalMs: 60_000,
    lagIntervalMs: 1_000,
    foldIntervalMs: 100,
  },
};

/** A started bridge and its runtime; stop() stops both. */
export interface RunningBridge {
  rt: Runtime;
  bridge: Bridge;
  stop(): Promise<void>;
}

export async function runBridge(rt: Runtime, settings: Partial<BridgeSettings> = FAST): Promise<RunningBridge> {
  const bridge = startBridge(rt, settings);
  await bridge.ready;
  let stopped: Promise<void> | undefined;
  return {
    rt,
    bridge,
    stop: () =>
      (stopped ??= (async () => {
        await bridge.stop();
        await rt.shutdown();
      })()),
  };
}

/** A plain NATS connection of the test, standing in for Kaa's other services. */
export async function testConnection(): Promise<NatsConnection> {
  return connect({ servers: testNatsUrl().split(','), name: 'cex-bridge-test' });
}

/** Collects every message on `subject` (subscribed and flushed before it returns). */
export async function collect(nc: NatsConnection, subject: string): Promise<{ messages: Msg[]; stop(): void }> {
  const messages: Msg[] = [];
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (!err) messages.push(msg);
    },
  });
  await nc.flush();
  return { messages, stop: () => sub.unsubscribe() };
}

/**
 * Polls `check` until it returns true, failing after `timeoutMs`: a deadline
 * for a wait that went wrong, never a claim about speed (keep it generous).
 */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A pause for pacing (arrival rates, a fake's slow answer); never a wait for a condition: use waitFor. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sum of a counter's values whose labels match `labels`. */
export async function counterValue(
  metric: { get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** One push as the test saw it: decoded with the REFERENCE schema, not the project's codec. */
export interface SeenPush {
  at: number;
  /** performance.now() at arrival, for latency measurements. */
  hr: number;
  endpointId: string;
  commandType: string;
  ids: number[];
  items: { id: number; payload: unknown }[];
  message: Record<string, unknown>;
}

/** Records every ExtensionData push on the kpc subject, decoded with the published schema. */
export async function collectPushes(
  nc: NatsConnection,
  kpc: string,
): Promise<{ pushes: SeenPush[]; of(endpointId: string): SeenPush[]; stop(): void }> {
  const { referenceType } = await import('../protocol/reference.js');
  const type = referenceType('extensionData');
  const pushes: SeenPush[] = [];
  const sub = nc.subscribe(`kaa.v1.service.${kpc}.esp.ExtensionData`, {
    callback: (err, msg) => {
      if (err) return;
      const message = type.fromBuffer(Buffer.from(msg.data)) as Record<string, unknown>;
      const items = JSON.parse((message.payload as Buffer).toString('utf8')) as { id: number; payload: unknown }[];
      const resourcePath = String(message.resourcePath);
      pushes.push({
        at: Date.now(),
        hr: performance.now(),
        endpointId: String(message.endpointId),
        commandType: resourcePath.slice('/command/'.length),
        ids: items.map((i) => i.id),
        items,
        message,
      });
    },
  });
  await nc.flush();
  return { pushes, of: (endpointId) => pushes.filter((p) => p.endpointId === endpointId), stop: () => sub.unsubscribe() };
}

/** A command as REST invoke creates it (tenant kaa, 60 s TTL unless given). */
export function restCommand(endpointId: string, commandType: string, over: Record<string, unknown> = {}) {
  return {
    tenantId: 'kaa',
    endpointId,
    commandType,
    payload: { n: 1 } as never,
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 5,
    origin: 'rest' as const,
    ...over,
  };
}
