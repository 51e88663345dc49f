import type { Server } from 'node:http';
import { loadConfig } from '../../shared/config/index.js';
import { allUnits } from '../../shared/host/units.js';
import { serveUnits } from '../../shared/host/serve.js';
import { createRuntime, installRuntime, type Runtime } from '../../shared/runtime/index.js';
import '../../functions/index.js';
import { TEST_INTERNAL_TOKEN } from './internal.js';
import { testNatsUrl, uniqueInstanceName } from './nats.js';
import type { TestDatabase } from './db.js';

export interface RestHost {
  url: string;
  rt: Runtime;
  /** The host's HTTP server (tests may watch its 'request' events). */
  server: Server;
  stop(): Promise<void>;
}

/**
 * Every HTTP and CloudEvent unit of the image served in-process on a free port, as the dev
 * host serves them, on the test file's own database (no bridge: tests drive
 * the endpoint side themselves through the store or a second runtime).
 */
export async function startRestHost(db: TestDatabase, env: Record<string, string> = {}): Promise<RestHost> {
  const rt = createRuntime(
    loadConfig({
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      CEX_INSTANCE_NAME: uniqueInstanceName(),
      CEX_AUTH: 'off',
      CEX_LOG_LEVEL: 'warn',
      CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
      ...env,
    }),
    'rest-test',
  );
  installRuntime(rt);
  const units = allUnits().filter((u) => u.routes || u.cloudEvent);
  const host = await serveUnits(rt, units, true, 0);
  return { url: `http://127.0.0.1:${host.port}`, rt, server: host.server, stop: () => host.stop() };
}

/** A second runtime on the same database: another "instance" with its own connections. */
export function otherInstance(db: TestDatabase, env: Record<string, string> = {}): Runtime {
  return createRuntime(
    loadConfig({ DATABASE_URL: db.url, CEX_AUTH: 'off', CEX_LOG_LEVEL: 'warn', CEX_INSTANCE_NAME: uniqueInstanceName(), ...env }),
    'other-instance',
  );
}
