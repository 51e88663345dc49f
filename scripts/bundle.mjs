// Bundles each FUNCTION_TARGET's entry (functions/targets/<target>.ts) into
// dist/bundles/<target>.mjs, plus the image's launcher (functions/launch.ts →
// dist/bundles/launch.mjs). Run by `make build` and the Dockerfile's build
// stage, after tsc has type-checked the same sources.
//
// Why: a cold start is mostly module loading. dist/functions/main.js
// resolves, reads and compiles every unit's files and their packages, one
// file at a time; a target's bundle is one file with only what the target
// imports (README, "Cold start", has the figures).
//
// Not minified, so stack traces stay readable (names as written, each
// module headed by a `// <source path>` line); a source map beside each
// bundle (no sources inside: NODE_OPTIONS=--enable-source-maps needs only the
// mappings). Every package is bundled: none of CEX's production dependencies
// is native or loads its own files by computed path on the paths CEX runs.
// pino would, for a transport (a worker thread started from
// `__dirname/lib/worker.js`): CEX configures none and logs to stdout from
// the main thread. test/deploy/bundles.test.ts runs bundles with no
// node_modules at all.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const targetsDir = path.join(root, 'functions', 'targets');
const entryPoints = { launch: path.join(root, 'functions', 'launch.ts') };
for (const file of readdirSync(targetsDir).filter((f) => f.endsWith('.ts'))) {
  entryPoints[path.basename(file, '.ts')] = path.join(targetsDir, file);
}

const result = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: path.join(root, 'dist', 'bundles'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  sourcesContent: false,
  keepNames: true,
  // The CommonJS packages inside (avsc, pino, prom-client,
  // functions-framework) call require() for Node's built-ins; an ES module
  // has no require, so each bundle makes one.
  banner: {
    js: "import { createRequire as __cexCreateRequire } from 'node:module';\nconst require = __cexCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});

const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.mjs') && !file.endsWith('launch.mjs'))
  .map(([, out]) => Math.round(out.bytes / 1024));
console.log(`bundled ${sizes.length} targets into dist/bundles/ (${Math.min(...sizes)} to ${Math.max(...sizes)} KiB each)`);
