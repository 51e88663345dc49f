// Applies the upstream fix for a postgres.js 3.4.9 defect to node_modules
// (run by `npm ci` as this package's postinstall; idempotent).
//
// Why: postgres.js batches small writes behind setImmediate and only re-arms
// that timer when its handle is null. When a connection closes with a write
// pending (pg_terminate_backend, a failover, a reset), closed() cancels the
// timer without nulling the handle: the connection object never sends its
// StartupMessage again, every reconnect times out (CONNECT_TIMEOUT), and the
// pool stalls for a minute or more. If the timer fires after the close
// instead, nextWrite() dereferences the null socket and throws from an
// immediate: an uncaught TypeError that ends a plain Node process.
// test/faults/pg-terminate.test.ts found both (75 s stall; crash in a
// standalone repro); upstream: porsager/postgres issues #1066, #1154, #1208,
// unmerged PRs #1168, #1176, #1209. Remove this once a fixed release is pinned.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const MARKER = '/* cex: nextWrite patch */';
const FIXES = [
  // A write scheduled before the close: settle its query instead of throwing.
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARKER}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  // terminate(): drop the dead socket's pending bytes and re-arm the timer.
  ['    clearImmediate(nextWriteTimer)\n    if (socket) {', '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {'],
  // closed(): the same, so the reconnect's StartupMessage is flushed.
  [
    "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)",
    "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener('data', data)",
  ],
];

// The package exports no package.json: its CommonJS entry is cjs/src/index.js.
const root = path.resolve(createRequire(import.meta.url).resolve('postgres'), '../../..');
for (const file of ['src/connection.js', 'cjs/src/connection.js']) {
  const target = path.join(root, file);
  let source = readFileSync(target, 'utf8');
  if (source.includes(MARKER)) continue;
  for (const [before, after] of FIXES) {
    if (!source.includes(before)) {
      process.stderr.write(`patch-postgres: ${target} is not the postgres.js 3.4.9 this patch fixes; check whether upstream fixed nextWrite and drop the patch\n`);
      process.exit(1);
    }
    source = source.replace(before, after);
  }
  writeFileSync(target, source);
  process.stdout.write(`patch-postgres: patched ${path.relative(process.cwd(), target)}\n`);
}
