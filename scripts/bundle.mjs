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
// Not minified (stack traces stay readable: names and lines as written) and
// with source maps beside each bundle. Every package is bundled: none of
// CEX's production dependencies is native or loads files by computed paths
// (checked by test/deploy/bundles.test.ts, which runs the bundles).
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
  keepNames: true,
  // The CommonJS packages (avsc, pino, prom-client, functions-framework's
  // express) call require() for Node's built-ins; an ES module has no
  // require, so each bundle makes one.
  banner: {
    js: "import { createRequire as __cexCreateRequire } from 'node:module';\nconst require = __cexCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});

for (const [file, out] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.mjs')) continue;
  const inputs = Object.keys(out.inputs);
  const packages = new Set(inputs.filter((i) => i.includes('node_modules/')).map((i) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(i)[1]));
  console.log(
    `${path.relative(root, file)}: ${(out.bytes / 1024).toFixed(0)} KiB, ${inputs.length} modules, packages: ${[...packages].sort().join(' ') || 'none'}`,
  );
}
