import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive, removeEmbeddedPostgresData } from '../../shared/devstack/index.js';

/** .data/test-pg at the repository root (git-ignored). */
export const TEST_PG_ROOT = fileURLToPath(new URL('../../.data/test-pg/', import.meta.url));

/**
 * A fresh, empty path for an embedded cluster: `.data/test-pg/<pid>-<label>`.
 * The pid in the name keeps concurrent vitest runs (several people or agents
 * on one machine) out of each other's clusters, and lets the next run remove
 * what a killed run left behind: directories whose pid is no longer alive.
 * A fresh cluster costs ~0.8 s of initdb against ~0.2 s for a warm start.
 * As root in a checkout the postgres OS user cannot reach (a 0700 folder),
 * the path becomes a link to a shared directory (shared/devstack/pg-placement.ts);
 * removeEmbeddedPostgresData removes both.
 */
export async function testPgDir(label: string): Promise<string> {
  await mkdir(TEST_PG_ROOT, { recursive: true });
  for (const name of await readdir(TEST_PG_ROOT)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (pid > 0 && pid !== process.pid && !processAlive(pid)) await removeEmbeddedPostgresData(path.join(TEST_PG_ROOT, name));
  }
  const dir = path.join(TEST_PG_ROOT, `${process.pid}-${label}`);
  await removeEmbeddedPostgresData(dir);
  return dir;
}
