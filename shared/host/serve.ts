import type { Server } from 'node:http';
import type { Runtime } from '../runtime/index.js';
import { tenancyFor } from '../tenancy/index.js';
import { createHostServer } from './server.js';
import type { UnitDefinition } from './units.js';

export interface RunningHost {
  server: Server;
  port: number;
  /** Graceful stop: stop accepting, stop background work, finish in-flight, close. */
  stop(): Promise<void>;
}

export const CEX_VERSION = '0.1.0';

/**
 * Serves `units` on the configured port and starts their background work.
 * The returned stop() is what SIGTERM runs: readiness turns false at once,
 * no new connections are accepted, background loops (bridge) drain, requests
 * in flight finish (sync waiters are released with 202 by their hook), then
 * Postgres and the listener close, all within CEX_SHUTDOWN_GRACE_MS.
 */
export async function serveUnits(rt: Runtime, units: UnitDefinition[], devMode: boolean, port = rt.config.port): Promise<RunningHost> {
  const server = createHostServer(rt, { units, devMode, version: CEX_VERSION });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  // Tenants and Tekton load in the background; readiness waits for them.
  tenancyFor(rt);
  const stops: (() => Promise<void>)[] = [];
  for (const unit of units) {
    if (unit.start) stops.push(await unit.start(rt));
  }
  rt.log.info({ port: boundPort, units: units.map((u) => u.name) }, 'CEX serving');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), rt.config.shutdownGraceMs);
      // Runtime hooks release waiters (202) so their requests finish promptly.
      await rt.beginShutdown();
      for (const stopUnit of stops.reverse()) await stopUnit().catch((err) => rt.log.error({ err }, 'unit stop failed'));
      await closed;
      clearTimeout(grace);
      await rt.close();
    })());
  return { server, port: boundPort, stop };
}
