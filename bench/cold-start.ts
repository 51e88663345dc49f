import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../shared/devstack/index.js';

/** The image's CMD: starts FUNCTION_TARGET's bundle (dist/bundles/launch.mjs; scripts/bundle.mjs builds it). */
export const LAUNCH_MJS = fileURLToPath(new URL('../bundles/launch.mjs', import.meta.url));
/** The unbundled entry (dist/functions/main.js): `make run`'s, and what the image ran before the bundles. */
export const MAIN_JS = fileURLToPath(new URL('../functions/main.js', import.meta.url));

export interface ColdStartOptions {
  /** Entry to run (default: this build's dist/bundles/launch.mjs, as the image does). */
  entry?: string;
  /** Working directory of the process (default: the current one). */
  cwd?: string;
  /** Node binary (default: this process's). */
  node?: string;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

export interface ColdStart {
  /** Process start to the first answer of GET /healthz (the server listens). */
  listeningMs: number;
  /** Process start to the first 200 of GET /readyz (Postgres, migrations, NATS where used). */
  readyMs: number;
  /**
   * CPU time (user + system) the process used until then, from
   * /proc/<pid>/stat (undefined off Linux): on a busy machine wall time
   * stretches with other processes' load, the CPU a start needs much less.
   */
  cpuMs: number | undefined;
}

/**
 * Starts `FUNCTION_TARGET=target node dist/bundles/launch.mjs` with `env`
 * (nothing else is inherited but PATH and HOME) and polls every 5 ms; stops
 * the process with SIGKILL once ready. What a Knative cold start costs CEX
 * itself, without the image pull and the pod scheduling.
 */
export async function measureColdStartDetail(
  target: string,
  env: Record<string, string | undefined>,
  options: ColdStartOptions = {},
): Promise<ColdStart> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/' };
  for (const [k, v] of Object.entries({ CEX_LOG_LEVEL: 'warn', ...env, FUNCTION_TARGET: target, PORT: String(port) })) {
    if (v !== undefined) childEnv[k] = v;
  }
  const started = performance.now();
  const proc = spawn(options.node ?? process.execPath, [options.entry ?? LAUNCH_MJS], {
    env: childEnv,
    cwd: options.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = started + (options.timeoutMs ?? 30_000);
  const url = `http://127.0.0.1:${port}`;
  let listeningMs: number | undefined;
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${target} exited with ${proc.exitCode} before it was ready:\n${stderr}`);
      if (performance.now() > deadline) throw new Error(`${target} not ready within ${options.timeoutMs ?? 30_000} ms:\n${stderr}`);
      if (listeningMs === undefined) {
        if ((await probe(`${url}/healthz`)) !== 0) {
          listeningMs = performance.now() - started;
          continue;
        }
      } else if ((await probe(`${url}/readyz`)) === 200) {
        const readyMs = performance.now() - started;
        return { listeningMs, readyMs, cpuMs: cpuMsOf(proc.pid) };
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    proc.kill('SIGKILL');
  }
}

/** Milliseconds from process start to the first GET /readyz 200 of `target`. */
export async function measureColdStart(
  target: string,
  env: Record<string, string | undefined>,
  options: ColdStartOptions = {},
): Promise<number> {
  return (await measureColdStartDetail(target, env, options)).readyMs;
}

/** utime + stime of a live process in ms (Linux counts them in clock ticks of 10 ms). */
function cpuMsOf(pid: number | undefined): number | undefined {
  try {
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The status of GET `url` (0: no answer), its body discarded so the socket is freed. */
async function probe(url: string): Promise<number> {
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}
