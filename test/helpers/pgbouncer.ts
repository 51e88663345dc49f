import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../shared/devstack/index.js';

/** A PgBouncer child in front of the test Postgres. */
export interface PgBouncer {
  /** `serverUrl` with host and port swapped for the pooler's. */
  urlFor(serverUrl: string): string;
  stop(): Promise<void>;
}

// Debian's package (make test installs it, as it does nats-server).
const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p)) ?? 'pgbouncer';

/**
 * Starts `pgbouncer` in `poolMode` in front of the server of `serverUrl`
 * (its user and password log in for every client: auth_type any), with `poolSize`
 * server connections per database. PgBouncer refuses to run as root, so
 * under root it runs as the OS user `postgres` (as embedded Postgres does).
 */
export async function startPgBouncer(serverUrl: string, poolMode: 'transaction' | 'session', poolSize = 2): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cex-pgbouncer-'));
  await chmod(dir, 0o755);
  const ini = path.join(dir, 'pgbouncer.ini');
  await writeFile(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432} user=${decodeURIComponent(server.username || 'postgres')}` +
        (server.password ? ` password=${decodeURIComponent(server.password)}` : ''),
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'auth_type = any',
      `pool_mode = ${poolMode}`,
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      'unix_socket_dir =',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  // Holds the test server's password: readable by the pooler's user alone.
  await chmod(ini, 0o600);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', ini]);
  const asPostgres =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
          gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
        }
      : {};
  const proc: ChildProcess = spawn(BINARY, [ini], { stdio: ['ignore', 'pipe', 'pipe'], ...asPostgres });
  let output = '';
  // Not installed (make pgbouncer installs it): say so instead of an uncaught spawn error.
  proc.on('error', (err) => (output += `${err.message} (run make pgbouncer)\n`));
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (proc.exitCode !== null || proc.signalCode !== null || output.includes('(run make pgbouncer)') || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`pgbouncer did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    urlFor(url) {
      const pooled = new URL(url);
      pooled.hostname = '127.0.0.1';
      pooled.port = String(port);
      return pooled.toString();
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        // SIGTERM: immediate shutdown (SIGINT would wait for session clients to leave).
        proc.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
