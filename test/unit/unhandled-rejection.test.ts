import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const moduleUrl = (file: string) => pathToFileURL(path.join(root, 'dist', file)).href;

// A child Node process (the built code, as the roots run it): a promise
// rejected with nobody awaiting it is logged with its stack, and the process
// goes on to its next step and exits 0 — without the guard Node ends it.
function runChild(guard: boolean) {
  const script = `
    const { createLogger } = await import(${JSON.stringify(moduleUrl('shared/log/index.js'))});
    const { logUnhandledRejections } = await import(${JSON.stringify(moduleUrl('shared/roots/process.js'))});
    if (${guard}) logUnhandledRejections(createLogger('info', 'test'));
    Promise.reject(new Error('stray connection error'));
    await new Promise((r) => setTimeout(r, 50));
    process.stdout.write('still serving\\n');
  `;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

describe('a stray rejected promise', () => {
  it('is logged with its stack and the process keeps running', () => {
    const child = runChild(true);
    expect(child.status, `${child.stdout}\n${child.stderr}`).toBe(0);
    expect(child.stdout).toContain('still serving');
    const line = (child.stdout + child.stderr).split('\n').find((l) => l.includes('unhandled promise rejection'));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!) as { level: string; err: { message: string; stack: string } };
    expect(entry.level).toBe('error');
    expect(entry.err.message).toBe('stray connection error');
    expect(entry.err.stack).toContain('Error: stray connection error');
  });

  it('ends a process without the guard (the control: what the roots prevent)', () => {
    const child = runChild(false);
    expect(child.status).not.toBe(0);
    expect(child.stdout).not.toContain('still serving');
  });
});
