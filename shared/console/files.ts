import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One built file of the console, read once into memory (the whole build is ~100 KB). */
export interface ConsoleFile {
  body: Buffer;
  contentType: string;
  /** Vite puts content-hashed bundles under assets/: they never change under one name. */
  hashed: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Where `vite build` (make build) writes the console: dist/console. This file
 * sits at shared/console/ in the sources (tests import it from there) and at
 * dist/shared/console/ when built, as in the image.
 */
export function consoleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(here, '..', '..');
  return path.basename(root) === 'dist' ? path.join(root, 'console') : path.join(root, 'dist', 'console');
}

/**
 * Every file of the built console by its path below the console root
 * (`index.html`, `assets/index-3f2a1b.js`), or undefined when it was not
 * built. Only these paths are ever served: a request names a key of this
 * map or gets index.html, so no request path reaches the filesystem.
 */
export async function loadConsoleFiles(dir = consoleDir()): Promise<Map<string, ConsoleFile> | undefined> {
  if (!existsSync(path.join(dir, 'index.html'))) return undefined;
  const files = new Map<string, ConsoleFile>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    files.set(rel, {
      body: await readFile(full),
      contentType: CONTENT_TYPES[path.extname(entry.name)] ?? 'application/octet-stream',
      hashed: rel.startsWith('assets/'),
    });
  }
  return files;
}
