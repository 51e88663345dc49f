import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../shared/devstack/index.js';

export const MAIN_JS = fileURLToPath(new URL('../../dist/functions/main.js', import.meta.url));

export interface DevHost {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process wrote (JSON log lines, and the banner). */
  output(): string;
  /** What it wrote to stderr alone (the banner). */
  stderr(): string;
  /** Sends `signal` to the host's process group and waits for the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts the built entry (`node dist/functions/main.js`, as `make run` and the
 * image do) in a process group of its own, so a test can signal the whole
 * group, and waits until GET /readyz answers 200. `args`: e.g. ['--demo'] (make demo).
 */
export async function startDevHost(
  env: Record<string, string | undefined>,
  readyTimeoutMs = 60_000,
  args: string[] = [],
): Promise<DevHost> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`make build\` (make test does) first`);
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const cleanEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  for (const [k, v] of Object.entries({ CEX_LOG_LEVEL: 'info', ...env, PORT: String(port) })) if (v !== undefined) cleanEnv[k] = v;
  const proc = spawn(process.execPath, [MAIN_JS, ...args], { env: cleanEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`dev host exited with ${proc.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      killGroup(proc, 'SIGKILL');
      throw new Error(`dev host not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    proc,
    output: () => output,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      killGroup(proc, signal);
      const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    // Already gone.
  }
}
