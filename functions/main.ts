import { runBridge } from '../shared/roots/bridge.js';
import { runDevHost } from '../shared/roots/dev-host.js';
import { runMigrations } from '../shared/roots/migrate.js';
import { loadConfigOrExit, runOrExit } from '../shared/roots/start.js';
import { runUnit } from '../shared/roots/unit.js';
import { UNITS, natsBridge } from './index.js';

/**
 * The entry of `make run` (the dev host), and the image's for an unset
 * FUNCTION_TARGET; each mode has its composition root in shared/roots/:
 * - FUNCTION_TARGET=migrate: apply migrations and exit (the Knative Job; migrate.ts);
 * - FUNCTION_TARGET=nats-bridge: the bridge Deployment (bridge.ts);
 * - FUNCTION_TARGET=<unit>: serve that unit alone (a Knative Service; unit.ts);
 * - no FUNCTION_TARGET: the dev host, every unit plus the bridge in one process,
 *   with an embedded Postgres and a local nats-server when no URLs are given;
 *   `--demo` (make demo) adds the simulated endpoints demo-1 … demo-10 (dev-host.ts).
 * The image starts a set target from its own bundle instead
 * (functions/launch.ts, functions/targets/): the same roots, without loading
 * every unit. This entry still runs any target, unbundled.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const target = config.functionTarget;
  if (target === 'migrate') return runMigrations(config);
  if (target === natsBridge.name) return runBridge(config, natsBridge);
  if (target) {
    const unit = UNITS.find((u) => u.name === target);
    if (!unit) throw new Error(`FUNCTION_TARGET ${target} is not a unit of this image`);
    return runUnit(config, unit);
  }
  return runDevHost(config, UNITS, { demo: process.argv.slice(2).includes('--demo') });
}

runOrExit(main());
