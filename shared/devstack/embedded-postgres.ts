import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log/index.js';
import { placeEmbeddedPostgres, type PgPlacement } from './pg-placement.js';
import { freePort } from './ports.js';
import { processAlive, processState, waitForExit } from './processes.js';

// Resolved from this module, so it is found from the sources (vitest, tsx)
// and from dist/ (tsc copies .mjs files because of allowJs).
const CHILD_PATH = fileURLToPath(new URL('./embedded-postgres-child.mjs', import.meta.url));

// Fixed rather than random: the password is stored in the cluster at initdb
// and a later restart on the same data dir must still log in. The server
// listens on 127.0.0.1 only; this is a development database.
const DEV_PASSWORD = 'cex-dev';

/** Where and how to run an embedded Postgres cluster. */
export interface EmbeddedPostgresOptions {
  /**
   * Cluster directory; initialised on first use, reused (warm start) after.
   * As root, when the postgres OS user cannot reach it, the cluster lives in
   * a shared directory instead and this path links to it (pg-placement.ts).
   */
  dataDir: string;
  /** Where relocated clusters and binaries go (default SHARED_PG_ROOT). */
  sharedRoot?: string;
  /** TCP port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Default 'cex-dev'; must match what the data dir was initialised with. */
  password?: string;
  /** initdb and postgres lines go here at debug level. */
  log: Logger;
  /** Give up when postgres is not ready by then (default 60 s). */
  startTimeoutMs?: number;
  /** Server settings for this start (`-c name=value`), e.g. the bench's shared_preload_libraries. */
  settings?: Readonly<Record<string, string>>;
}

/** A running embedded cluster. */
export interface EmbeddedPostgres {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** The directory postgres runs on: `dataDir`, or where it was relocated. */
  readonly dataDir: string;
  /** The postmaster's pid (fault tests kill it; stop() waits for it). */
  readonly pid: number;
  /** The launcher process's pid. */
  readonly launcherPid: number;
  /** Fast shutdown (SIGINT to the postmaster); resolves once it has exited. */
  stop(): Promise<void>;
}

interface ChildMessage {
  type: 'log' | 'ready' | 'error';
  message?: string;
  pid?: number;
  coldInit?: boolean;
}

/**
 * Starts Postgres 17 from the embedded-postgres binaries in a child launcher
 * (embedded-postgres-child.mjs explains why not in this process). The launcher
 * is forked in our process group, not detached: Ctrl-C or a kill of the group
 * reaches it and the postmaster too, and when this process dies the launcher
 * sees its IPC channel close and stops the cluster.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const placement = await placeEmbeddedPostgres(options.dataDir, { log: options.log, sharedRoot: options.sharedRoot });
  const dataDir = placement.dataDir;
  await waitForStalePostmaster(dataDir, options.log);
  const password = options.password ?? DEV_PASSWORD;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const log = options.log.child({ component: 'embedded-postgres', port });
    try {
      return await launch(placement, port, password, log, options.startTimeoutMs ?? 60_000, options.settings ?? {});
    } catch (err) {
      // freePort() cannot hold the port: another process may bind it first.
      if (options.port || attempt >= 3 || !/address already in use/i.test(String(err))) throw err;
      log.info('port taken before postgres bound it; trying another');
    }
  }
}

async function launch(
  placement: PgPlacement,
  port: number,
  password: string,
  log: Logger,
  timeoutMs: number,
  settings: Readonly<Record<string, string>>,
): Promise<EmbeddedPostgres> {
  const startedAt = performance.now();
  const { dataDir, binaries } = placement;
  const child = fork(CHILD_PATH, [], {
    // vitest and tsx put loaders into execArgv; the launcher is plain JS.
    execArgv: [],
    // initdb and postgres inherit it, and may run as the postgres OS user:
    // start them where that user may be (the checkout may be closed to it).
    cwd: path.dirname(dataDir),
    env: { ...process.env, CEX_EMBEDDED_PG: JSON.stringify({ dataDir, port, user: 'postgres', password, binaries, settings }) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr?.on('data', (chunk: Buffer) => log.warn({ stderr: chunk.toString('utf8').trimEnd() }, 'launcher stderr'));
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'log') log.debug({ pg: m.message }, 'postgres');
  });

  const ready = await waitReady(child, timeoutMs);
  const pid = ready.pid ?? 0;
  log.info({ dataDir, pid, coldInit: ready.coldInit, ms: Math.round(performance.now() - startedAt) }, 'embedded postgres ready');
  let stopped: Promise<void> | undefined;
  child.once('exit', (code, signal) => {
    if (!stopped) log.warn({ code, signal }, 'embedded postgres launcher exited unexpectedly');
  });
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    pid,
    launcherPid: child.pid ?? 0,
    stop: () => (stopped ??= stopCluster(child, pid, log)),
  };
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM'); // the launcher's exit hook stops what it started
      done(new Error(`embedded postgres not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: ChildMessage): void => {
      if (m.type === 'ready') done(undefined, m);
      else if (m.type === 'error') done(new Error(`embedded postgres failed to start: ${m.message}`));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`embedded postgres launcher exited during start (code ${code}, signal ${signal})`));
    function done(err?: Error, m?: ChildMessage): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m as ChildMessage);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function stopCluster(child: ChildProcess, pid: number, log: Logger): Promise<void> {
  const t0 = performance.now();
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
    // A fast shutdown took 16-35 ms here (measured); 15 s means something is stuck.
    if (!(await within(exited, 15_000))) {
      log.warn('embedded postgres launcher did not stop in 15 s; killing it');
      child.kill('SIGKILL');
      await exited;
    }
  }
  // The launcher may have died without stopping the postmaster (SIGKILL).
  if (pid > 0 && processAlive(pid)) {
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15_000))) process.kill(pid, 'SIGKILL');
  }
  log.info({ ms: Math.round(performance.now() - t0) }, 'embedded postgres stopped');
}

/**
 * postgres refuses to start while the pid in a leftover postmaster.pid still
 * exists, and after a SIGKILL the dead postmaster is a zombie until PID 1
 * reaps it: ~1.8 s on this machine (measured), never under a PID 1 that does
 * not reap. A dead pid is fine (postgres removes the stale file itself); a
 * zombie we wait out for up to 10 s rather than delete the file, because the
 * file is also postgres's guard against old backends still attached to the
 * old shared memory.
 */
async function waitForStalePostmaster(dataDir: string, log: Logger): Promise<void> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  if (!(pid > 0) || processState(pid) !== 'zombie') return;
  log.info({ pid }, 'previous postmaster is a zombie; waiting for it to be reaped');
  if (!(await waitForExit(pid, 10_000, 'reaped'))) {
    throw new Error(
      `embedded postgres: ${dataDir}/postmaster.pid names pid ${pid}, an unreaped zombie; ` +
        'run under an init that reaps (docker --init, tini) or reap its parent',
    );
  }
}

async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}
