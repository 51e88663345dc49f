import type { Config } from '../config/index.js';
import { serveUnits, type RunningHost } from '../host/serve.js';
import type { UnitDefinition } from '../host/units.js';
import { buildServices, startServices, type Services } from './services.js';

export interface ServeOptions {
  /** Dev host: every unit, CloudEvents under /units/{name}/ (shared/host/server.ts). */
  devMode: boolean;
  /** Default: PORT. 0 picks a free one (tests). */
  port?: number;
  /** Start tenancy and the change feed (every process that answers REST or CloudEvents); the bridge alone needs neither. */
  startServices?: boolean;
}

/**
 * The common part of every serving root, in order: build the services,
 * start them, serve the units (their own start, the bridge's, runs last).
 * The host's stop() undoes it in reverse. Test helpers serve through this
 * too, so tests run what the roots run.
 */
export async function serveProcess(
  config: Config,
  name: string,
  units: UnitDefinition[],
  options: ServeOptions,
): Promise<{ services: Services; host: RunningHost }> {
  const services = buildServices(config, name);
  if (options.startServices ?? true) startServices(services);
  const host = await serveUnits(services, units, options.devMode, options.port ?? config.port);
  return { services, host };
}
