import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseUrl } from '../../shared/cli/client.js';

/**
 * The built `cex` binary's help and every refusal of a command line: each
 * is a one-line "cex: …" naming what is wrong (with "did you mean" where a
 * guess is good), the usage line of the subcommand, exit code 64, and no
 * request sent. A local HTTP server stands where CEX would be and counts
 * what reaches it.
 */
const CLI = fileURLToPath(new URL('../../dist/shared/cli/main.js', import.meta.url));
let server: http.Server;
let url = '';
let requests = 0;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`make build\` first`);
  server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function cex(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', CEX_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cex --help and --version', () => {
  it('prints every command, option and exit code', async () => {
    const help = await cex(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const text of [
      'cex invoke',
      'cex get',
      'cex delete',
      'cex list',
      'cex watch',
      'cex batch',
      'cex task ',
      'cex tasks',
      '--idempotency-key',
      '--page N (from 1)',
      'with or without /api/v1',
      'succeeded 2xx + failed',
      'Exit codes:',
      '64  usage error',
    ]) {
      expect(help.stdout, text).toContain(text);
    }
    expect((await cex(['list', '-h'])).stdout).toBe(help.stdout);
    expect(await cex(['--version'])).toMatchObject({ code: 0, stdout: 'cex 0.1.0\n' });
  });
});

describe('cex refuses a command line it cannot run', () => {
  it.each([
    [[], 'cex: a command is required: invoke, get, delete, list, watch, batch, task or tasks'],
    [['lsit'], 'cex: unknown command "lsit"; did you mean "list"? (commands: invoke, get, delete, list, watch, batch, task, tasks)'],
    [['frobnicate'], 'cex: unknown command "frobnicate" (commands: invoke, get, delete, list, watch, batch, task, tasks)'],
    [['list', '--app', 'a', '--pgae', '2'], 'cex: unknown option --pgae; did you mean --page?'],
    [['invoke', 'e', 't', '--wiat', '5'], 'cex: unknown option --wiat; did you mean --wait?'],
    [['list', '--bogus'], 'cex: unknown option --bogus'],
    [['get', 'e', 't', '1', '--wait', '5'], 'cex: --wait is not an option of "get"'],
    [['list', '--app'], 'cex: --app needs a value'],
    [['task', 'x', '--all=yes'], 'cex: --all takes no value'],
    [['get', 'e', 't', '1', 'extra'], 'cex: "get" takes at most 3 arguments; unexpected: "extra"'],
    [['tasks', 'now'], 'cex: "tasks" takes at most 0 arguments; unexpected: "now"'],
    [['invoke', 'only-endpoint'], 'cex: "invoke" needs at least 2 arguments'],
    [['invoke', 'e', 't', '{not json'], `cex: the payload must be JSON (quote strings: '"on"'); got {not json`],
    [['invoke', 'e', 't', '--idempotency-key', 'has space'], 'cex: --idempotency-key must be 1-255 visible ASCII characters (no spaces)'],
    [['get', 'e', 't', 'seven'], 'cex: the command id must be a whole number, not "seven"'],
    [['list'], 'cex: "list" needs endpoint ids (e-1,e-2) or --app <name>'],
    [['list', 'e-1', '--app', 'a'], 'cex: list an application (--app) or endpoints, not both'],
    [['list', '--app', 'a', '--page', '0'], 'cex: --page must be a whole number from 1 to 1000000, not "0"'],
    [['watch', 'e', 'reboot'], 'cex: "watch" takes an endpoint alone, or an endpoint, a type and an id'],
    [['batch', 'reboot'], 'cex: "batch" needs --endpoints or --filter'],
    [['batch', 'reboot', '--endpoints', 'a', '--filter', 'f'], 'cex: give --endpoints or --filter, not both'],
    [
      ['batch', 'reboot', '--endpoints', '@/no/such/dir/missing.txt'],
      'cex: --endpoints @/no/such/dir/missing.txt: cannot read /no/such/dir/missing.txt (no such file)',
    ],
    [['batch', 'reboot', '--endpoints', ' , '], 'cex: --endpoints  ,  lists no endpoint ids'],
    [['get', 'e', 't', '1', '--url', 'ftp://x'], 'cex: --url must be an http(s) URL, not "ftp://x"'],
  ])('cex %j', async (args, message) => {
    const before = requests;
    const run = await cex(args);
    expect(run.code, run.stderr).toBe(64);
    expect(run.stdout).toBe('');
    const [first, ...rest] = run.stderr.trimEnd().split('\n');
    expect(first).toBe(message);
    expect(rest.at(-1)).toBe('Run "cex --help" for usage.');
    // The usage line of the subcommand, when one was named.
    if (args[0] && !message.includes('unknown command')) expect(rest[0]).toMatch(new RegExp(`^usage: cex ${args[0]} `));
    else expect(rest).toHaveLength(1);
    expect(run.stderr).not.toMatch(/cex: cex |\n\s+at /);
    expect(requests).toBe(before);
  });

  it('takes --url and CEX_URL with or without /api/v1, and trailing slashes', () => {
    expect(baseUrl('http://h:8080')).toBe('http://h:8080');
    expect(baseUrl('http://h:8080/api/v1')).toBe('http://h:8080');
    expect(baseUrl('http://h:8080/api/v1/')).toBe('http://h:8080');
    expect(baseUrl('https://h/cex/api/v1')).toBe('https://h/cex');
    expect(baseUrl('https://h/cex//')).toBe('https://h/cex');
    expect(baseUrl('h:8080')).toBeUndefined();
  });
});
