import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { startSimulator, type CommandHandler, type Simulator } from '../simulator/index.js';

/** `make demo`'s endpoints: demo-1 … demo-10. */
export const DEMO_FLEET = { prefix: 'demo-', size: 10, appVersionName: 'demo-app-v1' } as const;

// Like a Kaa device that keeps a connection: pushes are answered at once, and
// a poll every 30 s picks up whatever a push did not deliver.
const POLL_INTERVAL_MS = 30_000;

/** Every demo endpoint answers 200 with what it received, so a curl shows a round trip. */
const answer: CommandHandler = (command) => ({
  statusCode: 200,
  reasonPhrase: 'OK',
  payload: {
    endpointId: command.endpointId,
    command: command.commandType,
    received: command.payload,
    executedAt: new Date().toISOString(),
  },
});

/**
 * Starts the simulated fleet of `make demo` in the dev host's process (so
 * Ctrl-C stops it with everything else): endpoints behind a simulated
 * communication service on CEX's NATS server, speaking 4/ESP + 11/CEP.
 */
export async function startDemoFleet(config: Config, log: Logger): Promise<Simulator> {
  if (!config.natsUrl) throw new Error('the demo fleet needs NATS_URL');
  const fleetLog = log.child({ component: 'demo-fleet' });
  return startSimulator({
    natsUrl: config.natsUrl,
    endpoints: DEMO_FLEET.size,
    endpointPrefix: DEMO_FLEET.prefix,
    appVersionName: DEMO_FLEET.appVersionName,
    kpcInstanceName: config.kpcInstanceName,
    cexInstanceName: config.instanceName,
    pollIntervalMs: POLL_INTERVAL_MS,
    defaultHandler: answer,
    onExecuted: (command, result) =>
      fleetLog.info(
        {
          endpointId: command.endpointId,
          commandType: command.commandType,
          commandId: command.commandId,
          via: command.via,
          statusCode: result.statusCode,
        },
        'demo endpoint executed a command',
      ),
  });
}

// Ctrl-C signals the whole process group: nats-server may be gone before the
// fleet stops, and its last messages then wait for a reconnect that never
// comes (its stop took 2.4 s after a group SIGINT here; it reconnects forever).
const STOP_WAIT_MS = 2_000;

/** Stops the fleet; gives up after 2 s (its connection dies with the process anyway). */
export async function stopDemoFleet(fleet: Simulator): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
  await Promise.race([fleet.stop(), gaveUp]);
  clearTimeout(timer);
}
