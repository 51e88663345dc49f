import type { Config } from '../config/index.js';
import type { RunningHost } from '../host/serve.js';
import type { Logger } from '../log/index.js';
import type { Runtime } from '../runtime/index.js';

/** Says loudly at start, whoever set it, that requests are not authenticated. */
export function warnIfAuthOff(config: Config, log: Logger): void {
  if (!config.auth)
    log.warn('authentication is OFF (CEX_AUTH=off): requests are NOT authenticated and act as tenant kaa (development only)');
}

/** Resolves true once the runtime reports ready, false if a shutdown began first. */
export async function untilReady(rt: Runtime, stopping: () => boolean): Promise<boolean> {
  for (;;) {
    if (stopping()) return false;
    if ((await rt.readiness()).ready) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Work around the host's stop: `before` (the host still serves), `after` (it is closed). */
export interface StopHooks {
  before?: () => Promise<unknown>;
  after: () => Promise<void>;
}

/** Stops on SIGTERM/SIGINT (a second signal exits at once); returns whether a stop began. */
export function stopOnSignals(host: RunningHost, log: Logger, hooks: StopHooks): () => boolean {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'shutting down');
    Promise.resolve(hooks.before?.())
      .catch((err) => log.error({ err }, 'stopping before the host failed'))
      .then(() => host.stop())
      .then(hooks.after)
      .then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  logUnhandledRejections(log);
  return () => signalled;
}

/**
 * Node ends the process on a rejected promise nobody awaited. In a long-lived
 * process whose pools, listener and NATS connection reconnect by themselves,
 * one stray rejection (a postgres.js connection error surfacing while a
 * backend is terminated) must not take every waiter and stream down with it:
 * it is logged with its stack, so its source can be found and handled, and
 * the process stays up. Thrown exceptions still end the process.
 */
export function logUnhandledRejections(log: Logger): void {
  if (process.listenerCount('unhandledRejection') > 0) return;
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (logged; the process keeps running)');
  });
}
