import { existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../shared/db/index.js';
import { placeEmbeddedPostgres, removeEmbeddedPostgresData, startEmbeddedPostgres } from '../../shared/devstack/index.js';
import { createLogger } from '../../shared/log/index.js';

// As root, initdb and postgres run as the OS user `postgres`. These tests put
// checkouts in a 0700 folder (as /root or `mktemp -d` are) and check that the
// cluster goes where that user can reach it, and that the folder is untouched.
// The placement runs as it does for root (asPostgresUser) whoever runs them.
const log = createLogger(process.env.LOG_LEVEL ?? 'error', 'test');

let work: string;
let shared: string;
let closed: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'cex-placement-'));
  await chmod(work, 0o755);
  shared = path.join(work, 'shared');
  closed = path.join(work, 'closed');
  await mkdir(closed, { mode: 0o700 });
  await chmod(closed, 0o700);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o777;
const place = (dataDir: string) => placeEmbeddedPostgres(dataDir, { log, sharedRoot: shared, asPostgresUser: true });

describe('a checkout the postgres OS user can reach', () => {
  it('keeps the data dir where it was asked for, creating its parents searchable', async () => {
    const asked = path.join(work, 'open-checkout', '.data', 'pg');
    const placement = await place(asked);
    expect(placement.dataDir).toBe(asked);
    expect(placement.relocatedFrom).toBeUndefined();
    expect(existsSync(path.dirname(asked))).toBe(true);
    expect(mode(path.dirname(asked)) & 0o005).toBe(0o005);
  });
});

describe('a checkout in a 0700 folder', () => {
  const checkout = () => path.join(closed, 'cex');
  const asked = () => path.join(checkout(), '.data', 'pg');

  it('puts the cluster under the shared root, links it from the checkout, and finds it again on restart', async () => {
    await mkdir(checkout(), { mode: 0o700 });
    await chmod(checkout(), 0o700);
    const first = await place(asked());
    expect(first.relocatedFrom).toBe(asked());
    expect(path.dirname(path.dirname(first.dataDir))).toBe(path.join(shared, 'clusters'));
    expect(lstatSync(asked()).isSymbolicLink()).toBe(true);
    expect(readlinkSync(asked())).toBe(first.dataDir);
    expect(await readFile(path.join(path.dirname(first.dataDir), 'origin'), 'utf8')).toBe(asked());
    // Every directory above the cluster is searchable by others; the shared root is root's alone to write.
    for (let d = path.dirname(first.dataDir); d !== work; d = path.dirname(d)) expect(mode(d) & 0o001, d).toBe(0o001);
    expect(mode(shared) & 0o022).toBe(0);

    await mkdir(first.dataDir, { recursive: true });
    await writeFile(path.join(first.dataDir, 'kept'), 'x');
    const again = await place(asked());
    expect(again.dataDir).toBe(first.dataDir);
    expect(existsSync(path.join(again.dataDir, 'kept'))).toBe(true);
    // Neither the folder nor the checkout was opened up.
    expect(mode(closed)).toBe(0o700);
    expect(mode(checkout())).toBe(0o700);
  });

  it('starts afresh when the link was removed (rm -rf .data, or a new clone at the same path)', async () => {
    const before = (await place(asked())).dataDir;
    await writeFile(path.join(before, 'kept'), 'x');
    await rm(path.join(checkout(), '.data'), { recursive: true, force: true });
    const after = await place(asked());
    expect(after.dataDir).toBe(before);
    expect(existsSync(path.join(after.dataDir, 'kept'))).toBe(false);
  });

  it('removes clusters of other checkouts whose link is gone, keeps the linked ones', async () => {
    const gone = path.join(closed, 'gone', '.data', 'pg');
    const kept = path.join(closed, 'kept', '.data', 'pg');
    const [goneDir, keptDir] = [(await place(gone)).dataDir, (await place(kept)).dataDir];
    await mkdir(goneDir, { recursive: true });
    await rm(path.join(closed, 'gone'), { recursive: true, force: true });
    await place(asked());
    expect(existsSync(path.dirname(goneDir))).toBe(false);
    expect(existsSync(path.dirname(keptDir))).toBe(true);

    await removeEmbeddedPostgresData(kept);
    expect(existsSync(kept)).toBe(false);
    expect(existsSync(path.dirname(keptDir))).toBe(false);
  });

  it('refuses a data dir that exists in the closed folder, and a shared root others may write', async () => {
    const real = path.join(closed, 'real', 'pg');
    await mkdir(real, { recursive: true });
    await expect(place(real)).rejects.toThrow(/exists, but the postgres OS user cannot reach it/);
    const open = path.join(work, 'open-root');
    await mkdir(open);
    await chmod(open, 0o777);
    await expect(placeEmbeddedPostgres(asked(), { log, sharedRoot: open, asPostgresUser: true })).rejects.toThrow(
      /owned by root and writable by root only/,
    );
  });
});

describe('embedded Postgres in a 0700 folder', () => {
  // Root: the cluster is relocated as above. Anyone else: postgres runs as
  // that user, who may enter the folder, and nothing moves.
  it('initialises, serves, and keeps its rows across a restart', async () => {
    const dataDir = path.join(closed, 'started', '.data', 'pg');
    const query = async (url: string, statement: string) => {
      const sql = createPool(url, { max: 1, applicationName: 'cex-placement-test' });
      try {
        return await sql.unsafe(statement);
      } finally {
        await sql.end();
      }
    };
    try {
      const first = await startEmbeddedPostgres({ dataDir, log, sharedRoot: shared });
      try {
        await query(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before restart')");
      } finally {
        await first.stop();
      }
      const second = await startEmbeddedPostgres({ dataDir, log, sharedRoot: shared });
      try {
        expect(second.dataDir).toBe(first.dataDir);
        expect([...(await query(second.url, 'SELECT v FROM kept'))]).toEqual([{ v: 'before restart' }]);
      } finally {
        await second.stop();
      }
      expect(mode(closed)).toBe(0o700);
    } finally {
      await removeEmbeddedPostgresData(dataDir);
    }
  }, 120_000);
});
