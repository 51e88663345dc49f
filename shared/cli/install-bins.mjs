// Puts this checkout's commands into node_modules/.bin, so that `npx cex …`
// and `npx cex-sim …` run them from anywhere in the checkout once `npm ci`
// (make run, make test) has run: this file is part of the package's
// postinstall, and idempotent.
//
// Why not package.json "bin": when the project itself declares a bin, npm 11's
// npx installs the project as a link into its own cache (~/.npm/_npx/<hash of
// the path>) and runs it from there. That needs a writable npm cache, reads
// the dependency tree twice on every call (4.1 s per `npx cex --version` here,
// against 2.4 s through node_modules/.bin), and the cached link is never
// refreshed when the bins change (npm/cli issue 9766). A file in
// node_modules/.bin is the first place npx has looked since npm 7: nothing is
// installed or fetched. Before any install, npx finds the root package (named
// `cex`) in the tree and stops with "could not determine executable to run";
// it does not fetch a package of that name from the registry.
//
// Each command is a small sh script, not a symlink: the built file need not
// be executable, and a checkout that is not built yet says so.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const COMMANDS = { cex: 'dist/shared/cli/main.js', 'cex-sim': 'dist/shared/simulator/cli.js' };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'node_modules', '.bin');
mkdirSync(bin, { recursive: true });
for (const [name, target] of Object.entries(COMMANDS)) {
  const file = path.join(bin, name);
  writeFileSync(
    file,
    [
      '#!/bin/sh',
      `# ${name} of this checkout (written by shared/cli/install-bins.mjs at npm install).`,
      'root=$(cd "$(dirname "$0")/../.." && pwd)',
      `[ -f "$root/${target}" ] || { echo "${name}: $root/${target} is missing: run make build first" >&2; exit 1; }`,
      `exec node "$root/${target}" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o755);
}
