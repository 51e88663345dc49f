import type { Server, ServerResponse } from 'node:http';
import type { Services } from '../roots/services.js';
import { createHostHandler, createHostServer, localEventHandler, type HostHandler } from './server.js';
import { CLOUDEVENT_PATH, type UnitDefinition } from './units.js';

export interface RunningHost {
  server: Server;
  /** The server's request handler (the one dispatch), also registered with functions-framework in unit mode. */
  handler: HostHandler;
  port: number;
  /** Graceful stop: stop accepting, stop background work, finish in-flight, close. */
  stop(): Promise<void>;
}

export const CEX_VERSION = '0.1.0';

/**
 * Serves `units` on the configured port and starts their background work.
 * The returned stop() is what SIGTERM runs: readiness turns false at once,
 * background loops (the bridge) drain while requests are still served, then
 * new requests get 503, sync waiters are released with 202, requests in
 * flight finish, and Postgres and the listener close last.
 */
export async function serveUnits(rt: Services, units: UnitDefinition[], devMode: boolean, port = rt.config.port): Promise<RunningHost> {
  const handler = createHostHandler(rt, { units, devMode, version: CEX_VERSION });
  const server = createHostServer(rt, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: thousands of sync callers may connect at once, and
    // Node's default (511) overflowed under 10,000 (RSTs seen by clients).
    server.listen({ port, backlog: 4096 }, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const stops: (() => Promise<void>)[] = [];
  if (devMode) {
    // The bridge of this process calls these units directly (LocalEventDesk),
    // at the URLs it would POST to by default; a URL configured elsewhere is POSTed.
    for (const unit of units.filter((u) => u.cloudEvent)) {
      const base = `http://127.0.0.1:${boundPort}/units/${unit.name}`;
      const handler = localEventHandler(rt, unit);
      const unserve = [rt.localEvents.serve(base, handler), rt.localEvents.serve(`${base}${CLOUDEVENT_PATH}`, handler)];
      stops.push(async () => unserve.forEach((off) => off()));
    }
  }
  for (const unit of units) {
    if (unit.start) stops.push(await unit.start(rt));
  }
  rt.log.info({ port: boundPort, units: units.map((u) => u.name) }, 'CEX serving');

  let inFlight = 0;
  let draining = false;
  server.on('request', (_req, res: ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (draining && inFlight === 0) setImmediate(() => server.closeIdleConnections());
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // 1. Not ready any more, but still serving: the bridge (dev host) drains
      //    its in-flight forwards through this very server.
      rt.markDraining();
      for (const stopUnit of stops.reverse()) await stopUnit().catch((err) => rt.log.error({ err }, 'unit stop failed'));
      // 2. New requests get 503; runtime hooks release sync waiters (202).
      await rt.beginShutdown();
      // 3. Stop accepting; requests in flight finish, idle sockets close at once.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => {
        // Said in the log: a shutdown should end before this, on its own.
        rt.log.warn({ graceMs: rt.config.shutdownGraceMs, inFlight }, 'shutdown grace period over: closing every connection');
        server.closeAllConnections();
      }, rt.config.shutdownGraceMs);
      // Sockets whose response ends now stay open as idle keep-alives and
      // would hold the exit for the whole grace period: close the idle ones
      // whenever no request is left (until then a request arriving on one
      // still gets its 503 and `connection: close`). test/deploy/sigterm.test.ts
      draining = true;
      if (inFlight === 0) server.closeIdleConnections();
      await closed;
      clearTimeout(grace);
      // 4. Only now the listener and the pool close.
      await rt.close();
    })());
  return { server, handler, port: boundPort, stop };
}
