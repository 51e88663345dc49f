import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_TARGETS } from '../../shared/config/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import type { ImageLayout } from './image-layout.js';
import { REPO_ROOT } from './kustomize.js';
import { startUnit } from './unit-process.js';

// The image starts each FUNCTION_TARGET from its own esbuild bundle
// (scripts/bundle.mjs, run by `make build`): dist/bundles/launch.mjs imports
// dist/bundles/<target>.mjs. test/deploy/units.test.ts runs every target that
// way from the image's layout; this file checks what makes a bundle one: it
// holds every package it uses (it runs with no node_modules at all), only
// its own target's code, and postgres.js with CEX's fix.

const BUNDLES = path.join(REPO_ROOT, 'dist', 'bundles');
const bundleOf = (target: string) => readFileSync(path.join(BUNDLES, `${target}.mjs`), 'utf8');
/** The source files esbuild put in a bundle: it heads each module with a `// <path>` line. */
const modulesOf = (text: string) => [...text.matchAll(/^\/\/ ((?:node_modules|shared|functions)\/\S+)$/gm)].map((m) => m[1]!);

describe('the bundles (dist/bundles, built by make build)', () => {
  it('exist for every FUNCTION_TARGET, each from its own entry in functions/targets/', () => {
    const entries = readdirSync(path.join(REPO_ROOT, 'functions', 'targets')).map((f) => path.basename(f, '.ts'));
    expect(entries.sort()).toEqual([...FUNCTION_TARGETS].sort());
    for (const target of [...FUNCTION_TARGETS, 'launch'])
      expect(existsSync(path.join(BUNDLES, `${target}.mjs`)), `dist/bundles/${target}.mjs: run make build`).toBe(true);
  });

  it('hold every package they use, and take Node built-ins with require(), never an ES import', () => {
    for (const target of [...FUNCTION_TARGETS, 'launch']) {
      const text = bundleOf(target);
      // An ES import of a built-in makes Node read all its exports first (node:http's load undici: scripts/bundle.mjs).
      expect(text, target).not.toMatch(/^import\s/m);
      const required = [...text.matchAll(/\b(?:__require|require)\("([^"]+)"\)/g)].map((m) => m[1]!);
      if (target !== 'launch') expect(required.length, target).toBeGreaterThan(0);
      expect(
        required.filter((s) => !isBuiltin(s)),
        target,
      ).toEqual([]);
    }
  });

  it("hold only their own target's code: one unit each, the NATS client only in the bridge", () => {
    for (const target of FUNCTION_TARGETS) {
      const modules = modulesOf(bundleOf(target));
      const units = new Set(
        modules.filter((m) => m.startsWith('functions/') && !m.startsWith('functions/targets/')).map((m) => m.split('/')[1]),
      );
      expect([...units], target).toEqual(target === 'migrate' ? [] : [target]);
      expect(
        modules.some((m) => m.startsWith('node_modules/@nats-io/')),
        target,
      ).toBe(target === 'nats-bridge');
    }
    // Units that handle no Avro message load no Avro library.
    for (const target of ['command-lookup', 'history-listing', 'console', 'migrate'])
      expect(
        modulesOf(bundleOf(target)).filter((m) => m.startsWith('node_modules/avsc/')),
        target,
      ).toEqual([]);
  });

  it("carry postgres.js with CEX's fix (shared/db/patch-postgres.mjs) applied", () => {
    const text = bundleOf('command-lookup');
    // nextWrite() after a close settles its query instead of dereferencing the null socket.
    expect(text).toMatch(/function nextWrite\(fn\) \{\n\s+if \(!socket\) \{\n\s+chunk = nextWriteTimer = null;/);
    // execute() reserves the connection for sql.begin() whenever BEGIN was written.
    expect(text).toMatch(/const written = write\(toBuffer\(q\)\);\n\s+q\.options\.onexecute && q\.options\.onexecute\(\w+\);/);
  });

  it('refuse a FUNCTION_TARGET that is not their own, naming both (exit 2)', () => {
    const run = spawnSync(process.execPath, [path.join(BUNDLES, 'command-lookup.mjs')], {
      env: { PATH: process.env.PATH, FUNCTION_TARGET: 'nats-bridge' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain('FUNCTION_TARGET is nats-bridge but this entry runs command-lookup');
  });

  it('launch.mjs sends an unknown FUNCTION_TARGET to main.js, which names the valid ones (exit 2)', () => {
    const run = spawnSync(process.execPath, [path.join(BUNDLES, 'launch.mjs')], {
      env: { PATH: process.env.PATH, FUNCTION_TARGET: 'command-lookout', DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain('FUNCTION_TARGET');
    expect(run.stdout).toContain('command-lookup');
  });
});

describe('a bundle with no node_modules beside it', () => {
  let layout: ImageLayout;
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    // dist/bundles, and migrations/ (read by the readiness check). No
    // package.json, no node_modules, no dist/functions.
    const dir = path.join(REPO_ROOT, '.data', `bundles-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    for (const part of ['dist/bundles', 'migrations'])
      await cp(path.join(REPO_ROOT, part), path.join(dir, part), { recursive: true, filter: (src) => !src.endsWith('.map') });
    layout = { dir, entry: path.join(dir, 'dist', 'bundles', 'launch.mjs'), remove: () => rm(dir, { recursive: true, force: true }) };
    db = await createTestDatabase();
    env = {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      CEX_AUTH: 'off',
      CEX_INSTANCE_NAME: uniqueInstanceName(),
      CEX_SHUTDOWN_GRACE_MS: '5000',
      CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    };
  });
  afterAll(async () => {
    await layout?.remove();
    await db?.drop();
  });

  it.each([
    ['command-lookup', 'migrations'],
    ['nats-bridge', 'nats'],
  ])('%s is ready (/readyz 200, %s checked) and stops on SIGTERM with exit 0', async (target, check) => {
    const unit = await startUnit(layout, target, env);
    try {
      const ready = (await (await fetch(`${unit.url}/readyz`)).json()) as { status: string; checks: Record<string, boolean> };
      expect(ready.status).toBe('ready');
      expect(ready.checks[check]).toBe(true);
      // Its JSON log lines come from the pino inside the bundle (no transport, no worker thread).
      expect(unit.logLines().find((l) => l.msg === 'CEX serving')).toMatchObject({ unit: target, units: [target] });
    } finally {
      expect(await unit.stop('SIGTERM', 15_000), unit.output()).toBe(0);
    }
  });
});
