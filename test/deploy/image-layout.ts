import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './kustomize.js';

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
}

/**
 * The packages `npm ci --omit=dev --omit=optional` installs from the
 * lockfile (the Dockerfile's deps stage): paths like `node_modules/pino`.
 */
export function productionPackages(lock = readLock()): string[] {
  return Object.entries(lock.packages)
    .filter(([key, e]) => key.startsWith('node_modules/') && !e.dev && !e.optional && !e.devOptional)
    .map(([key]) => key);
}

/** Optional packages of the production tree: what --omit=optional leaves out of the image. */
export function optionalProductionPackages(lock = readLock()): string[] {
  return Object.entries(lock.packages)
    .filter(([key, e]) => key.startsWith('node_modules/') && e.optional && !e.dev)
    .map(([key]) => key);
}

export function readLock(): { packages: Record<string, LockEntry> } {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
}

export interface ImageLayout {
  /** Plays the image's /app. */
  dir: string;
  /** The script the image's CMD runs: dist/bundles/launch.mjs, which starts FUNCTION_TARGET's bundle. */
  entry: string;
  remove(): Promise<void>;
}

/**
 * The runtime stage of the Dockerfile as a directory, without Docker:
 * package.json, production node_modules only (copied from this checkout's
 * node_modules, as the lockfile lists them), dist/bundles, dist/functions,
 * dist/shared, dist/console and migrations/. A process started here cannot reach a devDependency, an
 * optional package, test code or the sources, as in the image. Under .data/
 * (git-ignored), next to node_modules, so the copy stays on one filesystem.
 */
export async function createImageLayout(): Promise<ImageLayout> {
  const dist = path.join(REPO_ROOT, 'dist');
  for (const built of [path.join('functions', 'main.js'), path.join('bundles', 'launch.mjs')])
    if (!existsSync(path.join(dist, built))) throw new Error(`dist/${built} is missing: run \`make build\` (make test does)`);
  const dir = path.join(REPO_ROOT, '.data', `image-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    await cp(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
    for (const pkg of productionPackages()) {
      const from = path.join(REPO_ROOT, pkg);
      // A nested node_modules/ is copied as its own lockfile entry (or left out when it is dev-only).
      await cp(from, path.join(dir, pkg), {
        recursive: true,
        filter: (src) => !path.relative(from, src).split(path.sep).includes('node_modules'),
      });
    }
    for (const part of ['dist/bundles', 'dist/functions', 'dist/shared', 'dist/console', 'migrations']) {
      await cp(path.join(REPO_ROOT, part), path.join(dir, part), { recursive: true, filter: (src) => !src.endsWith('.map') });
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, entry: path.join(dir, 'dist', 'bundles', 'launch.mjs'), remove: () => rm(dir, { recursive: true, force: true }) };
}
