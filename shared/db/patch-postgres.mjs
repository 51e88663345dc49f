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
// unmerged PRs #1168, #1176, #1209.
//
// Second defect: execute() runs a query's onexecute hook (how sql.begin()
// reserves its connection) only at the end of the "may I pipeline more"
// chain, so a BEGIN written when that chain stops early is never reserved:
// UNSAFE_TRANSACTION now and then under load, and on every sql.begin() with
// max_pipeline 0, which CEX needs behind a transaction-mode pooler
// (CEX_DB_POOLER=transaction; pipelined queries wedged a PgBouncer
// connection: test/store/pooler.test.ts). The hook now runs whenever the
// query was written. Upstream: issues #823, #1210; unmerged PRs #1211, #1218.
//
// Third defect: a new connection's first statement is postgres.js's own
// array-types query (fetch_types), whose promise ReadyForQuery drops. When
// the connection dies under it (Postgres or the pooler gone right after
// connecting), that promise rejects with nobody listening: an unhandled
// rejection, which ends a plain Node process (the CI run of 2026-12-02 saw it
// in test/rest/readiness.test.ts). The rejection is now caught, and the types
// are fetched again on the next connection. Upstream: issues #279, #1192,
// #1205, #1223, open.
// Remove the fixes once a fixed release is pinned.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const MARKER = '/* cex: nextWrite patch */';
const ONEXECUTE_MARKER = '/* cex: onexecute patch */';
const FETCH_TYPES_MARKER = '/* cex: fetch_types patch */';
// [marker, before, after]: a fix whose marker is present was applied already.
const FIXES = [
  // A write scheduled before the close: settle its query instead of throwing.
  [
    MARKER,
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARKER}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  // terminate(): drop the dead socket's pending bytes and re-arm the timer.
  [
    'chunk = nextWriteTimer = null\n    if (socket) {',
    '    clearImmediate(nextWriteTimer)\n    if (socket) {',
    '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {',
  ],
  // closed(): the same, so the reconnect's StartupMessage is flushed.
  [
    "chunk = nextWriteTimer = null\n    socket.removeListener('data', data)",
    "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)",
    "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener('data', data)",
  ],
  // execute(): reserve the connection for sql.begin() whenever BEGIN was written.
  [
    ONEXECUTE_MARKER,
    '      return write(toBuffer(q))\n        && !q.describeFirst\n        && !q.cursorFn\n        && sent.length < max_pipeline\n        && (!q.options.onexecute || q.options.onexecute(connection))',
    `      const written = write(toBuffer(q))\n      ${ONEXECUTE_MARKER}\n      q.options.onexecute && q.options.onexecute(connection)\n      return written\n        && !q.describeFirst\n        && !q.cursorFn\n        && sent.length < max_pipeline\n        && !q.options.onexecute`,
  ],
  // ReadyForQuery: the dropped fetchArrayTypes() promise is caught; the next connection retries.
  [
    FETCH_TYPES_MARKER,
    '        initial.reserve && (initial = null)\n        return fetchArrayTypes()\n',
    `        initial.reserve && (initial = null)\n        ${FETCH_TYPES_MARKER}\n        return fetchArrayTypes().catch(() => { needsTypes = options.fetch_types })\n`,
  ],
];

// The package exports no package.json: its CommonJS entry is cjs/src/index.js.
const root = path.resolve(createRequire(import.meta.url).resolve('postgres'), '../../..');
for (const file of ['src/connection.js', 'cjs/src/connection.js']) {
  const target = path.join(root, file);
  const original = readFileSync(target, 'utf8');
  let source = original;
  for (const [marker, before, after] of FIXES) {
    if (source.includes(marker)) continue;
    if (!source.includes(before)) {
      process.stderr.write(
        `patch-postgres: ${target} is not the postgres.js 3.4.9 this patch fixes; check whether upstream fixed nextWrite, onexecute and fetchArrayTypes, and drop the patch\n`,
      );
      process.exit(1);
    }
    source = source.replace(before, after);
  }
  if (source === original) continue;
  writeFileSync(target, source);
  process.stdout.write(`patch-postgres: patched ${path.relative(process.cwd(), target)}\n`);
}
