import type { Config } from '../config/index.js';
import type { UnitDefinition } from '../host/units.js';
import { stopOnSignals, warnIfAuthOff } from './process.js';
import { serveProcess } from './serve.js';
import { createLogger } from '../log/index.js';
import { startTracing, stopTracing } from '../tracing/index.js';

/**
 * Composition root of FUNCTION_TARGET=nats-bridge (a Deployment, minScale
 * 1). In order: the services (the core: config, log, pool, LISTEN
 * connection, metrics; tenancy and the change feed are not started, the
 * bridge uses neither); the HTTP host (operations, POST /nats/request);
 * then the bridge itself (the unit's start: its own pool, NATS, forwarding,
 * outbox, callbacks, maintenance; shared/nats-bridge/bridge.ts). Tracing,
 * when OTEL_* turns it on, starts before all of it. SIGTERM stops the bridge
 * first (it drains through the functions), then the host, then the listener
 * and the pool, then exports the last spans.
 */
export async function runBridge(config: Config, bridge: UnitDefinition): Promise<void> {
  await startTracing({ unit: bridge.name, replicaId: config.replicaId }, createLogger(config.logLevel, bridge.name));
  const { services, host } = await serveProcess(config, bridge.name, [bridge], { devMode: false, startServices: false });
  warnIfAuthOff(config, services.log);
  stopOnSignals(host, services.log, { after: stopTracing });
}
