import { ConfigError, loadConfig } from '../shared/config/index.js';
import { createLogger } from '../shared/log/index.js';
import { runMigrations, runDevHost, runSingleUnit } from '../shared/host/entry.js';
import './index.js';

/**
 * The one entry of the image and of `make run`:
 * - FUNCTION_TARGET=migrate: apply migrations and exit (the Knative Job);
 * - FUNCTION_TARGET=<unit>: serve that unit alone (a Knative Service / the bridge Deployment);
 * - no FUNCTION_TARGET: the dev host, every unit plus the bridge in one process,
 *   with an embedded Postgres and a local nats-server when no URLs are given;
 *   `--demo` (make demo) adds the simulated endpoints demo-1 … demo-10.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      createLogger('info', 'cex').fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  if (config.functionTarget === 'migrate') return runMigrations(config);
  if (config.functionTarget) return runSingleUnit(config, config.functionTarget);
  return runDevHost(config, { demo: process.argv.slice(2).includes('--demo') });
}

main().catch((err) => {
  createLogger('info', 'cex').fatal({ err }, 'CEX failed to start');
  process.exit(1);
});
