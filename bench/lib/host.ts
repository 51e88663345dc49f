import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../shared/devstack/index.js';

const MAIN_JS = fileURLToPath(new URL('../../functions/main.js', import.meta.url));

export interface BenchHost {
  url: string;
  pid: number;
  proc: ChildProcess;
  /** Resident set size of the host process, in MiB (from /proc). */
  rssMiB(): number;
  stop(): Promise<void>;
}

/** The built dev host (every unit plus the bridge, as `make run` serves them) on the bench's Postgres and NATS. */
export async function startBenchHost(env: Record<string, string>): Promise<BenchHost> {
  const port = await freePort();
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    CEX_LOG_LEVEL: 'warn',
    CEX_AUTH: 'off',
    CEX_DB_POOL_MAX: '20',
    ...env,
    PORT: String(port),
  };
  const proc = spawn(process.execPath, [MAIN_JS], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`CEX exited with ${proc.exitCode}: ${stderr}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`CEX not ready within 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: proc.pid!,
    proc,
    rssMiB: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round((kb / 1024) * 10) / 10;
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
