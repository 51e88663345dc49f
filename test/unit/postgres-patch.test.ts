import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// shared/db/patch-postgres.mjs (npm postinstall) fixes a postgres.js 3.4.9
// defect that stalls or crashes a pool after a connection is cut; without it
// test/faults/pg-terminate.test.ts fails. This says so in the fast suite.
describe('postgres.js patches (nextWrite, onexecute, fetch_types)', () => {
  const root = path.resolve(createRequire(import.meta.url).resolve('postgres'), '../../..');
  it.each(['src/connection.js', 'cjs/src/connection.js'])('is applied to %s', (file) => {
    const source = readFileSync(path.join(root, file), 'utf8');
    expect(source).toContain('/* cex: nextWrite patch */');
    expect(source.match(/clearImmediate\(nextWriteTimer\)\n\s+chunk = nextWriteTimer = null/g)).toHaveLength(3); // nextWrite itself, terminate(), closed()
  });
  it.each(['src/connection.js', 'cjs/src/connection.js'])('reserves a sql.begin() connection whenever BEGIN was written, in %s', (file) => {
    const source = readFileSync(path.join(root, file), 'utf8');
    expect(source).toContain('/* cex: onexecute patch */\n      q.options.onexecute && q.options.onexecute(connection)');
    expect(source).not.toContain('&& (!q.options.onexecute || q.options.onexecute(connection))');
  });
  it.each(['src/connection.js', 'cjs/src/connection.js'])('catches the dropped array-types promise, in %s', (file) => {
    const source = readFileSync(path.join(root, file), 'utf8');
    expect(source).toContain('/* cex: fetch_types patch */\n        return fetchArrayTypes().catch(');
  });
});
