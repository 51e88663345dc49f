import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Logger } from '../log/index.js';
import type { Sql } from './pool.js';

/** migrations/ at the repository root, found from both the sources and dist/. */
export const MIGRATIONS_DIR = findMigrationsDir();

// Any constant works, as long as every runner uses the same one.
const MIGRATION_LOCK_KEY = 0x0cec_0001;

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
}

/** Reads `NNNN_name.sql` files in version order; a gap or a duplicate number is an error. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(name);
    if (!match) throw new Error(`migration file name must look like 0001_name.sql: ${name}`);
    const version = Number(match[1]);
    if (version !== files.length + 1) throw new Error(`migration ${name} is out of sequence (expected ${files.length + 1})`);
    files.push({ version, name, sql: await readFile(path.join(dir, name), 'utf8') });
  }
  return files;
}

/**
 * Applies every migration not yet recorded, each in its own transaction,
 * while holding a session advisory lock: a second runner starting at the same
 * moment waits, then finds everything applied. Returns the
 * versions this call applied.
 */
export async function migrate(sql: Sql, log?: Logger, dir = MIGRATIONS_DIR): Promise<number[]> {
  const files = await readMigrations(dir);
  const applied: number[] = [];
  await sql.reserve().then(async (conn) => {
    try {
      await conn`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      await conn`
        CREATE TABLE IF NOT EXISTS cex_migrations (
          version    integer PRIMARY KEY,
          name       text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`;
      const done = new Set((await conn<{ version: number }[]>`SELECT version FROM cex_migrations`).map((r) => r.version));
      for (const file of files) {
        if (done.has(file.version)) continue;
        await conn.unsafe('BEGIN');
        try {
          await conn.unsafe(file.sql);
          await conn`INSERT INTO cex_migrations (version, name) VALUES (${file.version}, ${file.name})`;
          await conn.unsafe('COMMIT');
        } catch (err) {
          await conn.unsafe('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(file.version);
        log?.info({ migration: file.name }, 'migration applied');
      }
    } finally {
      await conn`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => undefined);
      conn.release();
    }
  });
  return applied;
}

/** True when every migration file is recorded as applied (readiness). */
export async function migrationsApplied(sql: Sql, dir = MIGRATIONS_DIR): Promise<boolean> {
  const files = await readMigrations(dir);
  const rows = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM cex_migrations WHERE version <= ${files.length}`.catch(() => [{ n: -1 }]);
  return rows[0]?.n === files.length;
}

function findMigrationsDir(): string {
  // This file sits at shared/db/ in the sources and at dist/shared/db/ when built.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    dir = path.dirname(dir);
    if (path.basename(dir) !== 'dist' && existsSync(path.join(dir, 'migrations'))) return path.join(dir, 'migrations');
  }
  return path.resolve('migrations');
}
