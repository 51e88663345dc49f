import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../../shared/devstack/index.js';
import { createLogger } from '../../shared/log/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { bridgeRuntime, runBridge, startFakeFunctions, uniqueNames, type FakeFunctions, type RunningBridge } from './helpers.js';

// Issue 17, part 6: the bridge authenticates to a NATS server that requires
// an NKEY, with the seed from a mounted file (NATS_NKEY_SEED_FILE), as a
// Secret mounted into the bridge's pod provides it.

let dir: string;
let nats: NatsServer;
let db: TestDatabase;
let fake: FakeFunctions;
const bridges: RunningBridge[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cex-nats-auth-'));
  const user = nkeys.createUser();
  writeFileSync(path.join(dir, 'seed'), `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'nats.conf'), `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
  [nats, db, fake] = await Promise.all([
    startNatsServer({ log: createLogger('warn', 'test'), configFile: path.join(dir, 'nats.conf') }),
    createTestDatabase(),
    startFakeFunctions(),
  ]);
}, 60_000);
afterAll(async () => {
  for (const b of bridges) await b.stop();
  await Promise.all([nats?.stop(), fake?.close(), db?.drop()]);
  rmSync(dir, { recursive: true, force: true });
});

const natsReady = async (b: RunningBridge) => (await b.rt.readiness()).checks.nats === true;

describe('a NATS server that requires an NKEY', () => {
  it('takes the bridge that has the seed file, and refuses a client without it', async () => {
    const withSeed = bridgeRuntime(db.url, uniqueNames(), fake.url, { NATS_URL: nats.url, NATS_NKEY_SEED_FILE: path.join(dir, 'seed') });
    bridges.push(await runBridge(withSeed));
    expect(await natsReady(bridges[0]!)).toBe(true);

    // The server does refuse a client without the key: the seed file is what let the bridge in.
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0, reconnect: false })).rejects.toThrow(/authorization/i);
  }, 60_000);
});
