import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import type { Logger } from '../log/index.js';
import { freePort } from './ports.js';

// Debian/Ubuntu's package puts the binary in /usr/sbin, which is not on a
// non-root user's PATH; release tarballs usually go to /usr/local/bin.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

// Servers we asked to exit, so their exit is not reported as a crash.
const stopping = new WeakSet<ChildProcess>();

// nats-server has no "exit with my parent" switch. A signal to our process
// group reaches it directly; for an exit of ours without stop() (a crash, a
// forgotten teardown) the 'exit' hook kills what is still running. Only a
// SIGKILL of this process alone can still orphan it.
const running = new Set<ChildProcess>();
let exitHooked = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    // SIGTERM, not SIGKILL: it finishes on its own after we are gone (JetStream flushes).
    for (const c of running) c.kill('SIGTERM');
  });
}

/** How to run a development nats-server. */
export interface NatsServerOptions {
  /** Client port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Enables JetStream with its files here; without it JetStream stays off. */
  storeDir?: string;
  log: Logger;
  /** Binary to run; default: NATS_SERVER_BIN, then PATH, then EXTRA_DIRS. */
  binary?: string;
  /** A nats-server configuration file (-c), e.g. with authorization, for tests. */
  configFile?: string;
}

/** A running nats-server child. */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** Pid of the current server process (changes on restart). */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Stops, then starts again on the same port (client reconnect tests). */
  restart(): Promise<void>;
}

/**
 * Spawns nats-server on 127.0.0.1 and resolves once it accepts TCP
 * connections. Not detached: it shares our process group, so a Ctrl-C or a
 * group kill takes it down with us.
 */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsServer> {
  const binary = options.binary ?? findNatsServer();
  const jetstream: string[] = [];
  if (options.storeDir) {
    await mkdir(options.storeDir, { recursive: true });
    jetstream.push('-js', '-sd', path.resolve(options.storeDir));
  }
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const log = options.log.child({ component: 'nats-server', port });
    const args = [...(options.configFile ? ['-c', options.configFile] : []), '-a', '127.0.0.1', '-p', String(port), ...jetstream];
    try {
      return handle(binary, args, port, log, await launch(binary, args, port, log));
    } catch (err) {
      // freePort() cannot hold the port: another process may bind it first.
      if (options.port || attempt >= 3 || !/address already in use/i.test(String(err))) throw err;
    }
  }
}

function handle(binary: string, args: string[], port: number, log: Logger, first: ChildProcess): NatsServer {
  let child = first;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? 0;
    },
    stop: () => terminate(child, log),
    async restart() {
      await terminate(child, log);
      child = await launch(binary, args, port, log);
    },
  };
}

/** The nats-server binary to run, or an error naming where we looked. */
export function findNatsServer(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`nats-server not found on PATH or in ${EXTRA_DIRS.join(', ')}; install it or set NATS_SERVER_BIN`);
}

async function launch(binary: string, args: string[], port: number, log: Logger): Promise<ChildProcess> {
  const t0 = performance.now();
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const recent: string[] = [];
  let announce: () => void = () => undefined;
  const announced = new Promise<void>((resolve) => (announce = resolve));
  const onOutput = (chunk: Buffer): void => {
    const text = chunk.toString('utf8').trimEnd();
    recent.push(text);
    if (recent.length > 20) recent.shift();
    if (recent.join('\n').includes('Server is ready')) announce();
    log.debug({ nats: text }, 'nats-server');
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`nats-server exited during start (code ${code}, signal ${signal}):\n${recent.join('\n')}`)),
    );
  });
  exited.catch(() => undefined);
  try {
    // The port alone is not proof: with a taken port, whoever holds it
    // answers while our server is still failing to bind (seen with port 4222:
    // "ready" after 10 ms, exit code 1 a millisecond later). "Server is ready"
    // comes after the listener is bound, so wait for it, then for the port.
    await Promise.race([withTimeout(announced, 10_000, 'nats-server did not report "Server is ready"'), exited]);
    await Promise.race([waitForPort(port, 10_000), exited]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  log.info({ pid: child.pid, ms: Math.round(performance.now() - t0) }, 'nats-server ready');
  child.once('exit', (code, signal) => {
    if (!stopping.has(child)) log.warn({ code, signal }, 'nats-server exited unexpectedly');
  });
  return child;
}

async function withTimeout(promise: Promise<void>, ms: number, message: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function terminate(child: ChildProcess, log: Logger): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  stopping.add(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log.warn('nats-server ignored SIGTERM for 5 s; killing it');
    child.kill('SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; polls every 25 ms. */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() >= deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
