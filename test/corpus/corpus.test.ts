/**
 * The hostile-input corpus (test/corpus/*.jsonl, format in README.md) sent
 * through the real surfaces of the built dev host: raw HTTP to the REST API
 * and to the functions' CloudEvent endpoints, NATS to the bridge. Every input
 * must get its documented answer, and after each surface the process must
 * still serve (health and readiness) with nothing stored changed (row counts
 * and checksums of every table). Each test needs only what beforeAll set up,
 * so they hold in any order and alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServer } from '../../shared/devstack/index.js';
import { createLogger } from '../../shared/log/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';
import { startIssuer, type Issuer } from '../helpers/peers.js';
import { snapshotTables, type TableState } from '../helpers/snapshot.js';
import { waitUntil } from '../helpers/wait.js';
import { checkRest, loadCorpus, NatsDriver, type Verdict } from './drive.js';
import { CORPUS_APP_VERSION, CORPUS_ENDPOINT, type Names, type NatsInput } from './messages.js';
import type { RestInput } from './raw-http.js';
import { corpusTokens } from './tokens.js';

const SURFACES = {
  REST: loadCorpus<RestInput>('rest.jsonl'),
  'CloudEvents (HTTP)': loadCorpus<RestInput>('cloudevents.jsonl'),
  'ESP ClientData': loadCorpus<NatsInput>('esp.jsonl'),
  'CIP requests': loadCorpus<NatsInput>('cip.jsonl'),
  'SCMP/TLE/ELCE events': loadCorpus<NatsInput>('events.jsonl'),
};
const tried: Record<string, number> = {};

let issuer: Issuer;
let nats: NatsServer;
let db: TestDatabase;
let host: DevHost;
let nc: NatsConnection;
let driver: NatsDriver;
let tokens: Record<string, string>;
let before: Record<string, TableState>;

beforeAll(async () => {
  // A NATS server of this file alone: broadcast subjects (21/TLE, 9/ELCE)
  // would otherwise reach other files' bridges, and theirs this one.
  [issuer, nats, db] = await Promise.all([
    startIssuer('corpus'),
    startNatsServer({ log: createLogger('warn', 'test') }),
    createTestDatabase(),
  ]);
  const names: Names = { cex: uniqueInstanceName(), kpc: uniquePrefix('kpc'), provider: uniquePrefix('tekton') };
  host = await startDevHost({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    CEX_INSTANCE_NAME: names.cex,
    KPC_INSTANCE_NAME: names.kpc,
    KAA_SCMP_PROVIDER: names.provider,
    CEX_OAUTH_ISSUER: issuer.issuer,
    CEX_LOG_LEVEL: 'info',
    // Given rather than generated, so cloudevents.jsonl can play the bridge ($INTERNAL_TOKEN).
    CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    // Short receiving deadlines (production: 30 s, 60 s) for the slow-client
    // inputs; the largest corpus body takes well under a second on loopback.
    CEX_HTTP_HEADERS_TIMEOUT_MS: '2000',
    CEX_HTTP_REQUEST_TIMEOUT_MS: '8000',
  });
  tokens = { ...(await corpusTokens(issuer)), $INTERNAL_TOKEN: TEST_INTERNAL_TOKEN };
  nc = await connect({ servers: nats.url, name: 'cex-corpus' });
  driver = new NatsDriver(nc, names, host.url);
  await seed();
  before = await snapshotTables(db.sql);
}, 90_000);

afterAll(async () => {
  const counts = Object.entries(tried)
    .map(([surface, n]) => `${surface} ${n}`)
    .join(', ');
  const total = Object.values(tried).reduce((a, b) => a + b, 0);
  console.log(`hostile-input corpus: ${total} inputs tried (${counts})`);
  await nc?.close();
  await host?.stop('SIGTERM');
  await Promise.all([nats?.stop(), issuer?.close(), db?.drop()]);
});

/**
 * What the inputs are judged against: the endpoint known at its app version
 * and offline (so nothing is pushed or re-pushed while the corpus runs), and
 * one pending command of it (id 1) with an hour to live.
 */
const ok = (v: Verdict) => expect(v).toBeUndefined();

async function seed(): Promise<void> {
  ok(await driver.esp({ id: 'seed-poll', note: '', body: '{}', expect: { answer: 200 } }));
  ok(
    await driver.event({
      id: 'seed-offline',
      note: '',
      type: 'elceDisconnected',
      fields: { endpoints: { [CORPUS_ENDPOINT]: CORPUS_APP_VERSION } },
      expect: { forwarded: true },
    }),
  );
  const res = await fetch(`${host.url}/api/v1/endpoints/${CORPUS_ENDPOINT}/commands/reboot?awaitTimeout=0&commandTtl=3600000`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.$TOKEN}`, 'content-type': 'application/json' },
    body: '{"seed":true}',
  });
  expect(res.status).toBe(202);
  expect(res.headers.get('location')).toMatch(/\/reboot\/1$/);
  await waitUntil(
    async () => (await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`)[0]!.n === 0,
    'the seed command handled by the outbox drainer',
  );
}

/** The process still serves (health, readiness) and nothing stored changed since the seed. */
async function stillServingAndUnchanged(): Promise<void> {
  expect(host.proc.exitCode).toBeNull();
  expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${host.url}/readyz`)).status).toBe(200);
  expect(await snapshotTables(db.sql)).toEqual(before);
}

/** Runs every input of a surface, in file order, and lists those answered otherwise than documented. */
async function runSurface<T extends { id: string; note: string }>(surface: keyof typeof SURFACES, check: (input: T) => Promise<Verdict>) {
  const failures: string[] = [];
  for (const input of SURFACES[surface] as unknown as T[]) {
    const verdict = await check(input).catch((err: Error) => `threw ${err.message}`);
    if (verdict) failures.push(`${input.id} (${input.note}): ${verdict}`);
  }
  tried[surface] = SURFACES[surface].length;
  expect(failures).toEqual([]);
  await stillServingAndUnchanged();
}

describe('hostile-input corpus', () => {
  it('has at least 200 inputs, each with a unique id', () => {
    const ids = Object.values(SURFACES).flatMap((inputs) => inputs.map((i) => i.id));
    expect(ids.length).toBeGreaterThanOrEqual(200);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('REST: every request answers its status with problem+json and its code', async () => {
    await runSurface<RestInput>('REST', (input) => checkRest(host.port, input, tokens));
  }, 300_000);

  it('CloudEvents over HTTP (the bridge-to-function contract): 4xx problem+json; forged ones refused and counted', async () => {
    const refused = async () =>
      (await (await fetch(`${host.url}/metrics`)).text()).match(
        /^cex_internal_requests_refused_total\{unit="[^"]+",reason="[^"]+"\} \d+$/gm,
      ) ?? [];
    const countOf = (lines: string[], unit: string, reason: string) =>
      Number(lines.find((l) => l.startsWith(`cex_internal_requests_refused_total{unit="${unit}",reason="${reason}"}`))?.split(' ')[1] ?? 0);
    const earlier = await refused();
    await runSurface<RestInput>('CloudEvents (HTTP)', (input) => checkRest(host.port, input, tokens));
    // The forged events of cloudevents.jsonl were refused (401) and counted; runSurface showed they changed nothing.
    const later = await refused();
    expect(countOf(later, 'esp-inbound', 'missing')).toBeGreaterThan(countOf(earlier, 'esp-inbound', 'missing'));
    expect(countOf(later, 'esp-inbound', 'invalid')).toBeGreaterThan(countOf(earlier, 'esp-inbound', 'invalid'));
    expect(countOf(later, 'nats-bridge', 'missing')).toBe(countOf(earlier, 'nats-bridge', 'missing') + 1);
  }, 180_000);

  it('4/ESP ClientData: a 1/KP error ExtensionData, or a counted drop', async () => {
    await runSurface<NatsInput>('ESP ClientData', (input) => driver.esp(input));
  }, 300_000);

  it('12/CIP requests: an immediate result with the status, or a counted drop', async () => {
    await runSurface<NatsInput>('CIP requests', (input) => driver.cip(input));
  }, 180_000);

  it('17/SCMP, 21/TLE and 9/ELCE events: dropped, or forwarded to no effect', async () => {
    await runSurface<NatsInput>('SCMP/TLE/ELCE events', (input) => driver.event(input));
  }, 180_000);

  it('logs the drops it counts (an undecodable and an expired ClientData of its own)', async () => {
    ok(await driver.esp({ id: 'log-undecodable', note: '', hex: '00ff', expect: { drop: 'undecodable' } }));
    ok(await driver.esp({ id: 'log-expired', note: '', body: '{}', fields: { timestamp: 'expired' }, expect: { drop: 'expired' } }));
    await waitUntil(
      () => /undecodable message dropped/.test(host.output()) && /expired message dropped/.test(host.output()),
      'both drops in the log',
    );
    expect(host.output()).not.toMatch(/"level":60/);
    await stillServingAndUnchanged();
  });
});
