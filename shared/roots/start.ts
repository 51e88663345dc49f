import { ConfigError, loadConfig, type Config, type FunctionTarget } from '../config/index.js';
import { createLogger } from '../log/index.js';

/**
 * The configuration from the environment, or exit 2 with the reason as one
 * fatal log line (a bad variable is the operator's to fix, not a crash).
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      createLogger('info', 'cex').fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Runs a composition root; a failure to start is logged as fatal and exits 1. */
export function runOrExit(root: Promise<void>): void {
  root.catch((err) => {
    createLogger('info', 'cex').fatal({ err }, 'CEX failed to start');
    process.exit(1);
  });
}

/**
 * The start of one target's own entry (functions/targets/, bundled to
 * dist/bundles/<target>.mjs): the entry is that target whatever the
 * environment says, so FUNCTION_TARGET may be unset; set to another target
 * it is a deployment mistake and exits 2 like any bad variable.
 */
export function startTarget(target: FunctionTarget, root: (config: Config) => Promise<void>): void {
  const asked = process.env.FUNCTION_TARGET;
  if (asked && asked !== target) {
    createLogger('info', 'cex').fatal(`invalid configuration: FUNCTION_TARGET is ${asked} but this entry runs ${target}`);
    process.exit(2);
  }
  runOrExit((async () => root(loadConfigOrExit({ ...process.env, FUNCTION_TARGET: target })))());
}
