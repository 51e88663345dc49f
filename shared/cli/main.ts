#!/usr/bin/env node
/**
 * `cex`: the command line of CEX's REST API (invoke, read, delete, list,
 * watch live status, batch). Node only: fetch for HTTP and SSE, parseArgs
 * for options. Writes results to stdout and errors to stderr.
 */
import { parseArgs } from 'node:util';
import { ApiError, NetworkError, type Api } from './client.js';
import { batch, EXIT, get, invoke, list, remove, task, tasks, UsageError, watch, type Context } from './commands.js';

const USAGE = `cex: command line for CEX, the Kaa Command Execution Extension

Usage:
  cex invoke <endpoint> <type> [json] [--wait S] [--ttl MS] [--callback URL]
        invoke a command; wait up to S seconds for its result (default 10,
        0 = do not wait; past 60 s the live status stream is followed)
  cex get <endpoint> <type> <id>          one command, with its delivery state
  cex delete <endpoint> <type> <id>       delete one command
  cex list <endpoint>[,<endpoint>…]       an endpoint's commands, newest first
  cex list --app <name> [--page N]        an application's commands, paged
        list filters: --status PENDING,EXECUTED,EXPIRED  --type T1,T2  --limit N
  cex watch <endpoint> [<type> <id>] [--timeout S]
        follow live status: one command until it is EXECUTED or EXPIRED,
        or every command of the endpoint until Ctrl-C (or --timeout)
  cex batch <type> --endpoints a,b,c|@file [json] [--ttl MS]
  cex batch <type> --filter <filterId> [json] [--ttl MS]
        one command on each endpoint (Kaa batch); prints the task
  cex task <id> [--all]                   a batch task's counts and commands
  cex tasks [--app A] [--type T] [--filter F] [--limit N] [--offset N]

  [json] is the command payload as JSON ('{"on":true}', '"text"', 42), or -
  to read it from stdin; absent means null.

Options:
  --json         machine-readable output: the API's JSON, one document (watch:
                 one descriptor per line)
  --url URL      CEX base URL [$CEX_URL or http://localhost:8080]
  --token T      bearer token [$CEX_TOKEN]
  -h, --help     this text
  --version

Exit codes:
  0   success (invoke/watch: the command was EXECUTED, whatever the endpoint's
      statusCode; invoke --wait 0: accepted)
  1   error (bad request, refused, server or network failure)
  2   no result: still PENDING when the wait ended, or EXPIRED
  3   not found (no such command, task, endpoint or application; or deleted
      while watching)
  64  usage error

A progress line is drawn on stderr while waiting, when stderr is a terminal.
`;

const SUBCOMMANDS: Record<string, (c: Context) => Promise<number>> = {
  invoke, get, delete: remove, list, watch, batch, task, tasks,
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        wait: { type: 'string' }, ttl: { type: 'string' }, callback: { type: 'string' },
        app: { type: 'string' }, status: { type: 'string' }, type: { type: 'string' }, limit: { type: 'string' },
        page: { type: 'string' }, offset: { type: 'string' }, timeout: { type: 'string' },
        endpoints: { type: 'string' }, filter: { type: 'string' }, all: { type: 'boolean' },
        json: { type: 'boolean' }, url: { type: 'string' }, token: { type: 'string' },
        help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (values.version) {
    process.stdout.write('cex 0.1.0\n');
    return EXIT.ok;
  }
  const [name, ...args] = positionals;
  const run = name ? SUBCOMMANDS[name] : undefined;
  if (!run) return usage(name ? `unknown command "${name}"` : 'a command is required');
  const url = (values.url ?? process.env.CEX_URL ?? 'http://localhost:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s]+$/.test(url)) return usage(`CEX_URL must be an http(s) URL, not "${url}"`);
  const api: Api = { url, token: values.token ?? (process.env.CEX_TOKEN || undefined) };
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  const context: Context = { api, args, opts: values, json: values.json ?? false, out: (t) => void process.stdout.write(t), signal: interrupt.signal };
  try {
    return await run(context);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    if (err instanceof ApiError) {
      process.stderr.write(`cex: ${err.status} ${err.code}: ${err.message}\n`);
      return err.status === 404 ? EXIT.notFound : EXIT.error;
    }
    if (err instanceof NetworkError) {
      process.stderr.write(`cex: ${err.message}\n`);
      return EXIT.error;
    }
    process.stderr.write(`cex: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return EXIT.error;
  }
}

function usage(message: string): number {
  process.stderr.write(`cex: ${message}\nRun "cex --help" for usage.\n`);
  return EXIT.usage;
}

// Exit once stdout has taken everything (a piped --json document must not
// be cut), without waiting for idle keep-alive sockets.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  },
  (err) => {
    process.stderr.write(`cex: ${String(err)}\n`);
    process.exit(EXIT.error);
  },
);
