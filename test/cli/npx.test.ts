import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `npx cex …` in the checkout, as the README tells a newcomer: npm ci (make
 * run, make test) wrote node_modules/.bin/cex (shared/cli/install-bins.mjs),
 * and npx runs it from the root or any folder below. npm_config_yes=false:
 * were the local command missing, npx would refuse to fetch a package from
 * the registry and this test would fail instead of running a stranger's code.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function npx(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', args, { cwd, env: { ...process.env, npm_config_yes: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npx in the checkout', () => {
  it('finds the commands npm install wrote', () => {
    for (const name of ['cex', 'cex-sim']) expect(existsSync(`${ROOT}node_modules/.bin/${name}`), name).toBe(true);
  });

  it.each([
    ['the repository root', ''],
    ['a folder below it', 'shared/cli'],
  ])('npx cex --help exits 0 from %s', async (_where, sub) => {
    const run = await npx(['cex', '--help'], `${ROOT}${sub}`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^cex: command line for CEX/);
  });

  it('npx cex-sim --help exits 0', async () => {
    const run = await npx(['cex-sim', '--help'], ROOT);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^cex-sim: simulated Kaa endpoints/);
  });
});
