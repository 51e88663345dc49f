/**
 * CEX processes of a fault scenario: the built entry (dist/functions/main.js)
 * as the dev host or as single units (FUNCTION_TARGET), each on a fixed port
 * so it can be SIGKILLed and started again at the same address, as a
 * Kubernetes pod behind its Service would be.
 */
import { freePort } from '../../shared/devstack/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../shared/simulator/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';
import { CALLBACK_ENV } from './callbacks.js';

export interface Names {
  cex: string;
  kpc: string;
  provider: string;
}

export function faultNames(): Names {
  return { cex: uniqueInstanceName(), kpc: uniquePrefix('kpc'), provider: uniquePrefix('tekton') };
}

/**
 * The environment every process of a scenario shares. Re-pushes start after
 * 1 s and cap at 4 s (production: 5 s and 60 s), so a result lost in a crash
 * comes back within seconds; the TTL is long enough that nothing expires
 * while a scenario runs.
 */
export function faultEnv(db: TestDatabase, natsUrl: string, names: Names, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    NATS_URL: natsUrl,
    CEX_INSTANCE_NAME: names.cex,
    KPC_INSTANCE_NAME: names.kpc,
    KAA_SCMP_PROVIDER: names.provider,
    CEX_AUTH: 'off',
    CEX_LOG_LEVEL: 'warn',
    CEX_COMMAND_TTL_MILLIS: '300000',
    CEX_REPUSH_INITIAL_MS: '1000',
    CEX_REPUSH_MAX_MS: '4000',
    CEX_SHUTDOWN_GRACE_MS: '5000',
    // Shared by the bridge and the functions of a scenario's processes.
    CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    // Callbacks go to the scenario's local receiver.
    ...CALLBACK_ENV,
    ...extra,
  };
}

/** One CEX process that can be killed and started again on its port. */
export class CexProcess {
  private host: DevHost | undefined;
  /** Timestamps (epoch ms) of each kill and of the readiness that followed. */
  readonly kills: { at: number; readyAt?: number }[] = [];

  private constructor(
    readonly label: string,
    private readonly env: Record<string, string>,
    readonly port: number,
  ) {}

  /** Starts `target` (a unit, or undefined for the dev host) and waits for GET /readyz 200. */
  static async start(label: string, env: Record<string, string>, target?: string): Promise<CexProcess> {
    const port = await freePort();
    const proc = new CexProcess(label, { ...env, ...(target ? { FUNCTION_TARGET: target } : {}), PORT: String(port) }, port);
    await proc.launch();
    return proc;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return !!this.host && this.host.proc.exitCode === null && this.host.proc.signalCode === null;
  }

  output(): string {
    return this.host?.output() ?? '';
  }

  /** SIGKILL (no shutdown hook runs), then a fresh process on the same port; resolves when ready. */
  async killAndRestart(pauseMs = 0): Promise<{ downMs: number }> {
    const kill = { at: Date.now() } as { at: number; readyAt?: number };
    this.kills.push(kill);
    await this.host?.stop('SIGKILL');
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    await this.launch();
    kill.readyAt = Date.now();
    return { downMs: kill.readyAt - kill.at };
  }

  /** SIGTERM; the exit code (0 after a clean shutdown). */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.host?.stop(signal) ?? Promise.resolve(null);
  }

  private async launch(): Promise<void> {
    // The port may linger a moment after a kill: retry the start a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        this.host = await startDevHost(this.env, 60_000);
        return;
      } catch (err) {
        if (attempt >= 5 || !/EADDRINUSE/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

/** The endpoint simulator on its own NATS connection (it reconnects by itself). */
export function simulate(natsUrl: string, names: Names, endpoints: number, options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({
    natsUrl,
    cexInstanceName: names.cex,
    kpcInstanceName: names.kpc,
    endpoints,
    endpointPrefix: `${uniquePrefix('ep')}-`,
    requestTimeoutMs: 3_000,
    ...options,
  });
}
