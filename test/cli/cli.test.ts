import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
  // A device whose reboots wait for the test: a watch is shown PENDING first, whatever the load.
  await e2e.simulator({
    endpointIds: ['cli-slow'],
    handlers: { reboot: async (c) => (await slowReboots, { statusCode: 200, reasonPhrase: 'OK', payload: c.payload }) },
  });
  // Executes everything with statusCode 503: a failure in batch counts.
  await e2e.simulator({ endpointIds: ['cli-busy'], failureRate: 1, failureStatusCode: 503 });
}, 90_000);
afterAll(async () => {
  releaseSlowReboots();
  await e2e?.close();
});

let releaseSlowReboots!: () => void;
const slowReboots = new Promise<void>((resolve) => (releaseSlowReboots = resolve));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onOutput` sees its stdout so far each time more arrives. */
function cex(args: string[], env: Record<string, string> = {}, onOutput?: (stdout: string) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', CEX_URL: e2e.host.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onOutput?.(stdout);
    });
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
    const watching = cex(['watch', 'cli-slow', 'reboot', String(commandId)], {}, (out) => out.includes('PENDING') && releaseSlowReboots());
    const run = await watching;
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
    const watching = cex(['watch', 'cli-fast', '--json', '--timeout', '10']);
    // The CLI's stream is open (the host's gauge of endpoint streams says so) before the invoke.
    const endpointStreams = async () =>
      Number(/^cex_live_streams\{kind="endpoint"\} (\d+)/m.exec(await (await fetch(`${e2e.host.url}/metrics`)).text())?.[1] ?? 0);
    await eventually(async () => ((await endpointStreams()) >= 1 ? true : undefined), 30_000, 'the CLI watching');
    await cex(['invoke', 'cli-fast', 'blink', '--wait', '5']);
    const run = await watching;
    expect(run.code).toBe(0);
    const states = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { commandType: string; status: string });
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

  it('pages from 1 in and out: --app pages, and each endpoint’s history by --limit', async () => {
    for (let i = 0; i < 3; i++) await cex(['invoke', 'cli-page', 'blink', `{"i":${i}}`, '--wait', '0']);
    const first = await cex(['list', '--app', 'sim-app', '--limit', '1', '--page', '1']);
    expect(first.stdout).toMatch(/^page 1 of (\d+), \1 commands \(--page 2 for the next\)$/m);
    const second = await cex(['list', '--app', 'sim-app', '--limit', '1', '--page', '2', '--json']);
    expect(JSON.parse(second.stdout)).toMatchObject({ page: 1, size: 1 });
    expect((await cex(['list', '--app', 'sim-app', '--limit', '1', '--page', '2'])).stdout).toMatch(/^page 2 of \d+/m);

    const byEndpoint = async (page: string) => {
      const run = await cex(['list', 'cli-page', '--limit', '2', '--page', page, '--json']);
      return (JSON.parse(run.stdout) as { commands: { commandId: number }[] }[])[0]!.commands.map((c) => c.commandId);
    };
    expect(await byEndpoint('1')).toEqual([3, 2]);
    expect(await byEndpoint('2')).toEqual([1]);
    const table = await cex(['list', 'cli-page', '--limit', '2']);
    expect(table.stdout).toMatch(/^page 1, up to 2 per endpoint \(--page 2 for older\)$/m);
  });

  it('sends a fresh Idempotency-Key per invocation, or --idempotency-key: the same key returns the same command', async () => {
    const once = await cex(['invoke', 'cli-nobody', 'keyed', '--wait', '0', '--json', '--idempotency-key', 'order-17']);
    const twice = await cex(['invoke', 'cli-nobody', 'keyed', '--wait', '0', '--json', '--idempotency-key', 'order-17']);
    const fresh = await cex(['invoke', 'cli-nobody', 'keyed', '--wait', '0', '--json']);
    const ids = [once, twice, fresh].map((r) => (JSON.parse(r.stdout) as { commandId: number }).commandId);
    expect(ids).toEqual([1, 1, 2]);
    const keys = await e2e.db.sql<{ key: string }[]>`
      SELECT idempotency_key AS key FROM commands WHERE endpoint_id = 'cli-nobody' AND command_type = 'keyed' ORDER BY command_id`;
    expect(keys[0]!.key).toBe('order-17');
    expect(keys[1]!.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries an invoke whose answer was lost with the same Idempotency-Key: one command, one result', async () => {
    // A proxy in front of the dev host that loses the first answer to an invoke (the command is stored by then).
    const keys: string[] = [];
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const invoke = req.method === 'POST';
        if (invoke) keys.push(String(req.headers['idempotency-key']));
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
        ) as Record<string, string>;
        const upstream = await fetch(`${e2e.host.url}${req.url}`, {
          method: req.method!,
          headers,
          ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        if (invoke && keys.length === 1) return void req.socket.destroy();
        res.writeHead(upstream.status, Object.fromEntries(upstream.headers)).end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const run = await cex([
        'invoke',
        'cli-fast',
        'retried',
        '{"n":1}',
        '--wait',
        '10',
        '--url',
        `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/`,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^status\s+EXECUTED 200 OK$/m);
      expect(run.stderr).toMatch(/^cex: cannot reach .*; retrying in 0\.5 s with the same Idempotency-Key$/m);
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
      const rows = await e2e.db.sql`SELECT command_id FROM commands WHERE endpoint_id = 'cli-fast' AND command_type = 'retried'`;
      expect(rows).toHaveLength(1);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('shows no value as "-" and JSON values, null included, as JSON', async () => {
    const executed = await cex(['invoke', 'cli-fast', 'nothing', '--wait', '10']);
    expect(executed.stdout).toMatch(/^request\s+null$/m);
    expect(executed.stdout).toMatch(/^response\s+null$/m);
    const pending = await cex(['invoke', 'cli-nobody', 'nothing', '--wait', '0']);
    expect(pending.stdout).toMatch(/^request\s+null$/m);
    expect(pending.stdout).toMatch(/^response\s+-$/m);
  });

  it('batch creates a task over the listed endpoints; task and tasks show its counts', async () => {
    const run = await cex(['batch', 'ping', '--endpoints', 'cli-fast,cli-slow,cli-busy,cli-nobody', '{"x":1}', '--ttl', '60000']);
    expect(run.code, run.stderr).toBe(0);
    const taskId = /^task ([0-9a-f-]{36})/m.exec(run.stdout)?.[1];
    expect(taskId).toBeDefined();
    const done = await eventually(async () => {
      const r = await cex(['task', taskId!, '--json']);
      const t = JSON.parse(r.stdout) as { executedCount: number; pendingCount: number };
      return t.executedCount === 3 ? t : undefined;
    });
    expect(done.pendingCount).toBe(1);
    const shown = await cex(['task', taskId!]);
    expect(shown.stdout).toMatch(/^pending 1\s+executed 3 \(succeeded 2, failed 1\)\s+expired 0$/m);
    expect(shown.stdout).toMatch(/^FAILED\s+cli-busy\s+1\s+503$/m);
    expect(shown.stdout).toMatch(/^SUCCEEDED\s+cli-fast\s+\d+\s+200$/m);
    expect(shown.stdout).toMatch(/^PENDING\s+cli-nobody\s+\d+\s+-$/m);
    const list = await cex(['tasks', '--type', 'ping']);
    expect(list.stdout.split('\n')[0]).toMatch(/PENDING\s+EXECUTED\s+SUCCEEDED\s+FAILED\s+EXPIRED/);
    expect(list.stdout).toMatch(new RegExp(`${taskId}\\s+ping\\s+-\\s+\\S+ \\S+\\s+1\\s+3\\s+2\\s+1\\s+0`));
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
