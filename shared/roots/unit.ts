import * as functions from '@google-cloud/functions-framework';
import type { Config } from '../config/index.js';
import type { HostHandler } from '../host/server.js';
import { cloudEventPath, unitPart, type UnitDefinition } from '../host/units.js';
import { stopOnSignals, warnIfAuthOff } from './process.js';
import { serveProcess } from './serve.js';
import { createLogger } from '../log/index.js';
import { startTracing, stopTracing } from '../tracing/index.js';

/**
 * Composition root of FUNCTION_TARGET=<unit>: one unit as its Knative
 * Service runs it. Never migrates (the Job does). In order:
 * 0. tracing, when OTEL_* turns it on (before the logger, whose lines then
 *    carry trace ids);
 * 1. the services (config, log, pool, LISTEN connection, metrics, tenancy,
 *    JWKS, change feed, waiters, streams), built, then tenancy and the
 *    change feed started;
 * 2. the unit (or the part of it CEX_UNIT_ROUTES names) served on PORT by
 *    the host's one dispatch, and the same handler registered with
 *    functions-framework under the unit's name, so the unit stays a
 *    framework HTTP function (CloudEvents in binary and structured mode, as
 *    Knative delivers them);
 * 3. SIGTERM: readiness false, new requests 503, waiters released, in-flight
 *    requests finish, then the listener and the pool close (host.stop()),
 *    then the last spans are exported.
 */
export async function runUnit(config: Config, unit: UnitDefinition): Promise<void> {
  // CEX_UNIT_ROUTES: the whole unit, or the part a Knative Service of its own serves.
  const part = unitPart(unit, config.unitRoutes);
  await startTracing({ unit: unit.name, replicaId: config.replicaId }, createLogger(config.logLevel, unit.name));
  const { services, host } = await serveProcess(config, unit.name, [part], { devMode: false });
  warnIfAuthOff(config, services.log);
  if (part !== unit) {
    services.log.info(
      { unitRoutes: config.unitRoutes, routes: (part.routes ?? []).map((r) => `${r.method} ${r.path}`), cloudEvents: cloudEventPath(part) },
      'serving part of the unit (CEX_UNIT_ROUTES); every other request gets 404',
    );
  }
  registerFunction(part, host.handler);
  stopOnSignals(host, services.log, { after: stopTracing });
}

/**
 * Registers the unit's handler (the host's one dispatch) as the
 * functions-framework HTTP function named like the unit: what the
 * framework's own server runs for FUNCTION_TARGET (test/endpoint serves
 * units that way, through the framework's express stack).
 */
export function registerFunction(unit: UnitDefinition, handler: HostHandler): void {
  functions.http(unit.name, handler);
}
