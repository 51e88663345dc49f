import type { Server } from 'node:http';
import { loadConfig } from '../../shared/config/index.js';
import { buildServices, type Services as Runtime } from '../../shared/roots/services.js';
import { serveProcess } from '../../shared/roots/serve.js';
import { UNITS } from '../../functions/index.js';
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
  const config = loadConfig({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: uniqueInstanceName(),
    CEX_AUTH: 'off',
    CEX_LOG_LEVEL: 'warn',
    CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    ...env,
  });
  const units = UNITS.filter((u) => u.routes || u.cloudEvent);
  // As the dev host's root serves them (shared/roots/dev-host.ts), minus the bridge.
  const { services, host } = await serveProcess(config, 'rest-test', units, { devMode: true, port: 0 });
  return { url: `http://127.0.0.1:${host.port}`, rt: services, server: host.server, stop: () => host.stop() };
}

/** A second runtime on the same database: another "instance" with its own connections. */
export function otherInstance(db: TestDatabase, env: Record<string, string> = {}): Runtime {
  return buildServices(
    loadConfig({ DATABASE_URL: db.url, CEX_AUTH: 'off', CEX_LOG_LEVEL: 'warn', CEX_INSTANCE_NAME: uniqueInstanceName(), ...env }),
    'other-instance',
  );
}
