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
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const targetsDir = path.join(root, 'functions', 'targets');
// tracing.mjs: the OpenTelemetry SDK, imported only when OTEL_* turns tracing on (below).
const entryPoints = { launch: path.join(root, 'functions', 'launch.ts'), tracing: path.join(root, 'shared', 'tracing', 'otel.ts') };
for (const file of readdirSync(targetsDir).filter((f) => f.endsWith('.ts'))) {
  entryPoints[path.basename(file, '.ts')] = path.join(targetsDir, file);
}

// Node's built-ins are taken with require(), never with an ES import: an ES
// import makes Node read every export of the built-in first, and node:http's
// include lazy getters (WebSocket, CloseEvent, MessageEvent) that load all of
// undici. On Node 26, the image's, `import { createServer } from 'node:http'`
// cost 100 ms more CPU than `require('node:http')` (a process doing only
// that: 220 vs 120 ms; Node 20 has no such getters).
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(bundler) {
    bundler.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path) ? { path: args.path, namespace: 'builtin' } : undefined,
    );
    bundler.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// The tracing SDK stays out of every target's bundle: startTracing()'s
// import('./otel.js') becomes an import of ./tracing.mjs beside the bundle,
// made only when tracing is on. Bundled in, its ~700 KB (protobuf.js and the
// OTLP transformers included) would be compiled at every cold start, on or off.
// tracing.mjs holds its own @opentelemetry/api: the API keeps its provider,
// context manager and propagator on globalThis, and the bundles' code
// reaches it only through tracing.mjs's hooks.
const tracingApart = {
  name: 'tracing-apart',
  setup(bundler) {
    bundler.onResolve({ filter: /^\.\/otel\.js$/ }, (args) =>
      args.kind === 'dynamic-import' && args.importer.endsWith(path.join('shared', 'tracing', 'index.ts'))
        ? { path: './tracing.mjs', external: true }
        : undefined,
    );
  },
};

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
  plugins: [builtinsByRequire, tracingApart],
  // An ES module has no require(): each bundle makes one, for the built-ins
  // (above, and in the CommonJS packages inside: avsc, pino, prom-client,
  // functions-framework).
  banner: { js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);" },
  logLevel: 'warning',
  metafile: true,
});

const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.mjs') && !file.endsWith('launch.mjs') && !file.endsWith('tracing.mjs'))
  .map(([, out]) => Math.round(out.bytes / 1024));
console.log(`bundled ${sizes.length} targets into dist/bundles/ (${Math.min(...sizes)} to ${Math.max(...sizes)} KiB each)`);
