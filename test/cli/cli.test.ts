import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startE2e, type E2e } from '../endpoint/e2e-host.js';
import { descriptorSchema } from '../../shared/rest/index.js';

/**
 * The real `cex` binary (dist/shared/cli/main.js, as `npm i -g` installs it)
 * against the built dev host, with simulated endpoints executing commands.
 */
const CLI = fileURLToPath(new URL('../../dist/shared/cli/main.js', import.meta.url));

let e2e: E2e;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`make build\` first`);
  e2e = await startE2e();
  await e2e.simulator({ endpointIds: ['cli-fast'] });
  await e2e.simulator({ endpointIds: ['cli-slow'], delayMs: 1_500 });
}, 90_000);
afterAll(async () => {
  await e2e?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cex(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', CEX_URL: e2e.host.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cex CLI against the dev host', () => {
  it('invoke waits for the result and prints it with the delivery state; --json prints the descriptor', async () => {
    const run = await cex(['invoke', 'cli-fast', 'reboot', '{"delay":1}', '--wait', '10']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^command\s+cli-fast\/reboot\/1$/m);
    expect(run.stdout).toMatch(/^status\s+EXECUTED 200 OK$/m);
    expect(run.stdout).toMatch(/^response\s+\{"delay":1\}$/m);
    expect(run.stdout).toMatch(/^delivery\s+pushed 1× \(last \d{4}-\d{2}-\d{2} [\d:]{8}Z\), never fetched$/m);
    // Nothing on stderr: it is not a terminal, so no spinner.
    expect(run.stderr).toBe('');

    const json = await cex(['invoke', 'cli-fast', 'reboot', '"on"', '--json']);
    expect(json.code).toBe(0);
    const d = descriptorSchema.parse(JSON.parse(json.stdout));
    expect(d).toMatchObject({ commandId: 2, status: 'EXECUTED', requestPayload: 'on', responsePayload: 'on' });
    expect(d.delivery.pushes).toBe(1);
  });

  it('shows fetchedAt once the endpoint polled for its command (the poll path)', async () => {
    const sim = await e2e.simulator({ endpointIds: ['cli-poll'], observe: false });
    const run = await cex(['invoke', 'cli-poll', 'reboot', '--wait', '0']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^status\s+PENDING$/m);
    await sim.poll('cli-poll', 'reboot', false);
    const got = await eventually(async () => {
      const r = await cex(['get', 'cli-poll', 'reboot', '1']);
      return /^status\s+EXECUTED/m.test(r.stdout) ? r : undefined;
    });
    expect(got.stdout).toMatch(/^delivery\s+not pushed, fetched \d{4}-\d{2}-\d{2} [\d:]{8}Z$/m);
  });

  it('watch follows one command until EXECUTED and exits 0', async () => {
    const invoked = await cex(['invoke', 'cli-slow', 'reboot', '{"n":1}', '--wait', '0', '--json']);
    const { commandId } = JSON.parse(invoked.stdout) as { commandId: number };
    const run = await cex(['watch', 'cli-slow', 'reboot', String(commandId)]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`cli-slow/reboot/${commandId}  PENDING  pushed 1×`));
    expect(lines[1]).toMatch(new RegExp(`cli-slow/reboot/${commandId}  EXECUTED 200 OK`));
    // Once final, watching again prints the final state at once (the stream answers 204).
    const again = await cex(['watch', 'cli-slow', 'reboot', String(commandId), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'EXECUTED' });
  });

  it('watch of an endpoint prints each state as JSON lines until its timeout', async () => {
    const watching = cex(['watch', 'cli-fast', '--json', '--timeout', '3']);
    await new Promise((r) => setTimeout(r, 800));
    await cex(['invoke', 'cli-fast', 'blink', '--wait', '5']);
    const run = await watching;
    expect(run.code).toBe(0);
    const states = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { commandType: string; status: string });
    expect(states.filter((s) => s.commandType === 'blink').map((s) => s.status)).toEqual(['PENDING', 'EXECUTED']);
  });

  it('list shows an endpoint’s commands as a table (or JSON), and an application’s', async () => {
    const table = await cex(['list', 'cli-fast']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ENDPOINT\s+TYPE\s+ID\s+STATUS\s+CREATED\s+PUSHES\s+FETCHED$/);
    expect(table.stdout).toMatch(/cli-fast\s+reboot\s+2\s+EXECUTED 200 OK/);
    const json = await cex(['list', 'cli-fast', '--json', '--type', 'reboot']);
    const [entry] = JSON.parse(json.stdout) as { endpointId: string; commands: { commandId: number }[] }[];
    expect(entry!.commands.map((c) => c.commandId)).toEqual([2, 1]);
    const app = await cex(['list', '--app', 'sim-app', '--limit', '5']);
    expect(app.code, app.stderr).toBe(0);
    expect(app.stdout).toMatch(/page 1 of \d+, \d+ commands/);
  });

  it('batch creates a task over the listed endpoints; task and tasks show its counts', async () => {
    const run = await cex(['batch', 'ping', '--endpoints', 'cli-fast,cli-slow,cli-nobody', '{"x":1}', '--ttl', '60000']);
    expect(run.code, run.stderr).toBe(0);
    const taskId = /^task ([0-9a-f-]{36})/m.exec(run.stdout)?.[1];
    expect(taskId).toBeDefined();
    const done = await eventually(async () => {
      const r = await cex(['task', taskId!, '--json']);
      const t = JSON.parse(r.stdout) as { executedCount: number; pendingCount: number };
      return t.executedCount === 2 ? t : undefined;
    });
    expect(done.pendingCount).toBe(1);
    const shown = await cex(['task', taskId!]);
    expect(shown.stdout).toMatch(/pending 1\s+executed 2\s+expired 0/);
    const list = await cex(['tasks', '--type', 'ping']);
    expect(list.stdout).toContain(taskId!);
  });

  it('tells outcomes apart by exit code: 2 no result yet, 3 not found, 1 error, 64 usage', async () => {
    const pending = await cex(['invoke', 'cli-nobody', 'reboot', '--wait', '1']);
    expect(pending.code).toBe(2);
    expect(pending.stdout).toMatch(/^status\s+PENDING$/m);
    expect((await cex(['get', 'cli-fast', 'reboot', '999'])).code).toBe(3);
    expect((await cex(['delete', 'cli-nobody', 'reboot', '1'])).code).toBe(0);
    expect((await cex(['get', 'cli-nobody', 'reboot', '1'])).code).toBe(3);
    expect((await cex(['task', '00000000-0000-4000-8000-000000000000'])).code).toBe(3);
    const refused = await cex(['invoke', 'bad id', 'reboot']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('400 INVALID_ENDPOINT_ID');
    const down = await cex(['get', 'a', 'b', '1'], { CEX_URL: 'http://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach');
    for (const args of [[], ['frobnicate'], ['invoke', 'only-endpoint'], ['invoke', 'e', 't', '{not json'], ['list', '--bogus']]) {
      const usage = await cex(args);
      expect(usage.code, args.join(' ')).toBe(64);
      expect(usage.stderr).toContain('cex --help');
    }
    const help = await cex(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
  });
});
