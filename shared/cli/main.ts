#!/usr/bin/env node
/**
 * `cex`: the command line of CEX's REST API (invoke, read, delete, list,
 * watch live status, batch). Node only: fetch for HTTP and SSE, parseArgs
 * for options. Writes results to stdout and errors to stderr.
 */
import { COMMANDS, parseCommandLine, UsageError } from './args.js';
import { ApiError, baseUrl, NetworkError, type Api } from './client.js';
import { EXIT, get, invoke, remove, watch, type Context } from './commands.js';
import { batch, list, task, tasks } from './lists.js';

const USAGE = `cex: command line for CEX, the Kaa Command Execution Extension

Usage:
  cex invoke <endpoint> <type> [json] [--wait S] [--ttl MS] [--callback URL]
             [--idempotency-key K]
        invoke a command; wait up to S seconds for its result (default 10,
        0 = do not wait; past 60 s the live status stream is followed).
        Sends a fresh Idempotency-Key (or K), reused when the CLI retries
        after a lost connection or a 503, so a retry never stores twice
  cex get <endpoint> <type> <id>          one command, with its delivery state
  cex delete <endpoint> <type> <id>       delete one command
  cex list <endpoint>[,<endpoint>…]       endpoints' commands, newest first,
                                          --limit per endpoint (default 100)
  cex list --app <name>                   an application's commands
                                          (--limit per page, default 20)
        list options: --page N (from 1)  --status PENDING,EXECUTED,EXPIRED
                      --type T1,T2  --limit N
  cex watch <endpoint> [<type> <id>] [--timeout S]
        follow live status: one command until it is EXECUTED or EXPIRED,
        or every command of the endpoint until Ctrl-C (or --timeout)
  cex batch <type> --endpoints a,b,c|@file [json] [--ttl MS]
  cex batch <type> --filter <filterId> [json] [--ttl MS]
        one command on each endpoint (Kaa batch); prints the task
  cex task <taskId> [--all]               a batch task's counts and commands
                                          (executed = succeeded 2xx + failed)
  cex tasks [--app A] [--type T] [--filter F] [--limit N] [--offset N]

  [json] is the command payload as JSON ('{"on":true}', '"text"', 42), or -
  to read it from stdin; absent means null.

Options:
  --json         machine-readable output: the API's JSON, one document (watch:
                 one descriptor per line)
  --url URL      CEX base URL, with or without /api/v1
                 [$CEX_URL or http://localhost:8080]
  --token T      bearer token [$CEX_TOKEN]
  -h, --help     this text
  --version

Output: "-" stands for no value (not pushed, no response yet); JSON values,
null included, are shown as JSON.

Exit codes:
  0   success (invoke/watch: the command was EXECUTED, whatever the endpoint's
      statusCode; invoke --wait 0: accepted)
  1   error (bad request, refused, server or network failure)
  2   no result: still PENDING when the wait ended, or EXPIRED
  3   not found (no such command, task, endpoint or application; or deleted
      while watching)
  64  usage error (unknown command or option, missing or extra arguments,
      an unreadable @file)

A progress line is drawn on stderr while waiting, when stderr is a terminal.
`;

const SUBCOMMANDS: Record<string, (c: Context) => Promise<number>> = {
  invoke,
  get,
  delete: remove,
  list,
  watch,
  batch,
  task,
  tasks,
};

async function main(argv: string[]): Promise<number> {
  let command: string | undefined;
  try {
    const parsed = parseCommandLine(argv);
    command = parsed.command;
    const { args, opts } = parsed;
    if (opts.help) {
      process.stdout.write(USAGE);
      return EXIT.ok;
    }
    if (opts.version) {
      process.stdout.write('cex 0.1.0\n');
      return EXIT.ok;
    }
    const raw = (opts.url as string | undefined) ?? process.env.CEX_URL ?? 'http://localhost:8080';
    const url = baseUrl(raw);
    if (!url) throw new UsageError(`${opts.url === undefined ? 'CEX_URL' : '--url'} must be an http(s) URL, not "${raw}"`);
    const api: Api = { url, token: (opts.token as string | undefined) ?? (process.env.CEX_TOKEN || undefined) };
    const interrupt = new AbortController();
    process.once('SIGINT', () => interrupt.abort());
    const context: Context = {
      api,
      args,
      opts,
      json: opts.json === true,
      signal: interrupt.signal,
      out: (t) => void process.stdout.write(t),
      note: (t) => void process.stderr.write(`cex: ${t}\n`),
    };
    return await SUBCOMMANDS[command!]!(context);
  } catch (err) {
    if (err instanceof UsageError) {
      const usage = err.usage ?? (command ? COMMANDS[command]?.usage : undefined);
      process.stderr.write(`cex: ${err.message}\n${usage ? `usage: ${usage}\n` : ''}Run "cex --help" for usage.\n`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`cex: ${err.status} ${err.code}: ${err.message}\n`);
      return err.status === 404 ? EXIT.notFound : EXIT.error;
    }
    if (err instanceof NetworkError) {
      process.stderr.write(`cex: ${err.message}\n`);
      return EXIT.error;
    }
    // A bug of the CLI: the stack only when asked for.
    const detail = process.env.CEX_DEBUG ? (err as Error).stack : (err as Error).message;
    process.stderr.write(`cex: ${detail ?? String(err)}\n`);
    return EXIT.error;
  }
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
