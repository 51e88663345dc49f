import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { createPool } from '../../shared/db/index.js';
import {
  processAlive,
  removeEmbeddedPostgresData,
  startEmbeddedPostgres,
  waitForExit,
  type EmbeddedPostgres,
} from '../../shared/devstack/index.js';
import { createLogger } from '../../shared/log/index.js';
import { testPgDir } from '../helpers/pg-dirs.js';

const log = createLogger(process.env.LOG_LEVEL ?? 'error', 'test');
let dataDir = '';
let running: EmbeddedPostgres | undefined;

afterAll(async () => {
  await running?.stop();
  if (dataDir) await removeEmbeddedPostgresData(dataDir);
});

/** Pids whose parent is `pid` (the postmaster's checkpointer, walwriter, backends...). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return kids;
}

async function query<T>(url: string, work: (sql: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const sql = createPool(url, { max: 1, applicationName: 'cex-devstack-test' });
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

it('initialises, restarts on its data dir, survives SIGKILL, and leaves no process', async () => {
  dataDir = await testPgDir('embedded-test');

  // Cold: initdb, then start.
  running = await startEmbeddedPostgres({ dataDir, log });
  const first = running;
  expect(first.port).not.toBe(5432);
  const version = await query(first.url, async (sql) => {
    await sql`CREATE TABLE kept (v text)`;
    await sql`INSERT INTO kept VALUES ('before restart')`;
    return (await sql<{ server_version_num: string }[]>`SHOW server_version_num`)[0]?.server_version_num;
  });
  expect(Number(version)).toBeGreaterThanOrEqual(170000);
  const helpers = childrenOf(first.pid);
  expect(helpers.length).toBeGreaterThan(0);
  await first.stop();
  running = undefined;
  for (const pid of [first.pid, first.launcherPid, ...helpers]) expect(processAlive(pid)).toBe(false);

  // Warm: same data dir, no initdb, the row is still there.
  running = await startEmbeddedPostgres({ dataDir, log });
  const second = running;
  expect(await query(second.url, (sql) => sql`SELECT v FROM kept`)).toEqual([{ v: 'before restart' }]);

  // Everything SIGKILLed, as a killed process group would be: the stale
  // postmaster.pid names a dead pid, and postgres recovers on the next start.
  const secondHelpers = childrenOf(second.pid);
  process.kill(second.launcherPid, 'SIGKILL');
  process.kill(second.pid, 'SIGKILL');
  for (const pid of [second.pid, second.launcherPid, ...secondHelpers]) expect(await waitForExit(pid, 5_000)).toBe(true);
  running = undefined;

  running = await startEmbeddedPostgres({ dataDir, log });
  const third = running;
  expect(await query(third.url, (sql) => sql`SELECT v FROM kept`)).toEqual([{ v: 'before restart' }]);
  await third.stop();
  running = undefined;
  expect(processAlive(third.pid)).toBe(false);
  expect(processAlive(third.launcherPid)).toBe(false);

  // A port someone else holds: a clear error, and the launcher is gone.
  const blocker = createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const port = (blocker.address() as AddressInfo).port;
  try {
    await expect(startEmbeddedPostgres({ dataDir, log, port })).rejects.toThrow(/address already in use/i);
  } finally {
    blocker.close();
  }
});
