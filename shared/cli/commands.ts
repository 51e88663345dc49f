import { randomUUID } from 'node:crypto';
import type { CommandDescriptor } from '../domain/index.js';
import { UsageError } from './args.js';
import { call, callRetrying, type Api } from './client.js';
import { follow } from './follow.js';
import { commandName, descriptorText, eventLine } from './format.js';
import { startSpinner } from './spinner.js';

/** Exit codes (also in `cex --help` and the README). */
export const EXIT = { ok: 0, error: 1, noResult: 2, notFound: 3, usage: 64 } as const;

/** What every subcommand gets: the API, its arguments and options, and where to write. */
export interface Context {
  api: Api;
  args: string[];
  opts: Record<string, string | boolean | undefined>;
  json: boolean;
  out(text: string): void;
  /** Progress notes (retries) for people; stderr. */
  note(text: string): void;
  /** Aborted by Ctrl-C. */
  signal: AbortSignal;
}

export const enc = encodeURIComponent;

/** An integer option within [min, max], or undefined when not given. */
export function int(value: string | boolean | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

/** The payload argument: JSON text, `-` for stdin, or absent (null). */
export async function payloadOf(text: string | undefined): Promise<unknown> {
  if (text === undefined) return undefined;
  const raw = text === '-' ? await readStdin() : text;
  try {
    return JSON.parse(raw);
  } catch {
    throw new UsageError(`the payload must be JSON (quote strings: '"on"'); got ${raw.slice(0, 60)}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function exitFor(d: CommandDescriptor): number {
  return d.status === 'EXECUTED' ? EXIT.ok : EXIT.noResult;
}

// Printable ASCII, as the server takes it (CEX-API.md §2, Idempotency-Key).
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
// A lost connection or a 503 is retried twice with the same key: the retry
// returns the command if the first attempt stored it (no second push).
const INVOKE_RETRIES = 2;

/** cex invoke <endpoint> <type> [json] [--wait S] [--ttl MS] [--callback URL] [--idempotency-key K] */
export async function invoke(c: Context): Promise<number> {
  const [endpoint, type, payloadText] = c.args as [string, string, string | undefined];
  const payload = await payloadOf(payloadText);
  const wait = int(c.opts.wait, 'wait', 0, 86_400) ?? 10;
  const ttl = int(c.opts.ttl, 'ttl', 0, 2_147_483_647);
  const key = typeof c.opts['idempotency-key'] === 'string' ? c.opts['idempotency-key'] : randomUUID();
  if (!IDEMPOTENCY_KEY.test(key)) throw new UsageError('--idempotency-key must be 1-255 visible ASCII characters (no spaces)');
  const deadline = Date.now() + wait * 1000;
  const spinner = startSpinner(`waiting for ${endpoint}/${type}`);
  try {
    const query = { awaitTimeout: Math.min(wait, 60), commandTtl: ttl, callbackUrl: c.opts.callback as string | undefined };
    const res = await callRetrying(
      c.api,
      'POST',
      `/endpoints/${enc(endpoint)}/commands/${enc(type)}`,
      { query, headers: { 'idempotency-key': key }, ...(payload === undefined ? {} : { body: payload }), signal: c.signal },
      {
        retries: INVOKE_RETRIES,
        onRetry: (why, ms) => c.note(`${why}; retrying in ${(ms / 1000).toFixed(1)} s with the same Idempotency-Key`),
      },
    );
    const location = res.headers.get('location')!;
    // 200 carries only the endpoint's result; the descriptor has the rest.
    let d = res.status === 200 ? ((await call(c.api, 'GET', location)).body as CommandDescriptor) : (res.body as CommandDescriptor);
    spinner.update(`waiting for ${commandName(d)}`);
    if (d.status === 'PENDING' && wait > 0 && Date.now() < deadline) {
      // Past the server's 60 s cap (or after a 202): follow the live status.
      await follow({ api: c.api, path: `${location}/events`, deadline, signal: c.signal, onEvent: (e) => (d = e) });
    }
    spinner.stop();
    c.out(c.json ? JSON.stringify(d) + '\n' : descriptorText(d));
    return wait === 0 && d.status === 'PENDING' ? EXIT.ok : exitFor(d);
  } finally {
    spinner.stop();
  }
}

const commandPath = (c: Context) => {
  const [endpoint, type, id] = c.args as [string, string, string];
  if (!/^\d+$/.test(id)) throw new UsageError(`the command id must be a whole number, not "${id}"`);
  return `/endpoints/${enc(endpoint)}/commands/${enc(type)}/${id}`;
};

/** cex get <endpoint> <type> <id> */
export async function get(c: Context): Promise<number> {
  const d = (await call(c.api, 'GET', commandPath(c))).body as CommandDescriptor;
  c.out(c.json ? JSON.stringify(d) + '\n' : descriptorText(d));
  return EXIT.ok;
}

/** cex delete <endpoint> <type> <id> */
export async function remove(c: Context): Promise<number> {
  const [endpoint, type, id] = c.args;
  await call(c.api, 'DELETE', commandPath(c));
  c.out(c.json ? JSON.stringify({ deleted: `${endpoint}/${type}/${id}` }) + '\n' : `deleted ${endpoint}/${type}/${id}\n`);
  return EXIT.ok;
}

/** cex watch <endpoint> [<type> <id>] [--timeout S] */
export async function watch(c: Context): Promise<number> {
  const [endpoint, type, id] = c.args as [string, string | undefined, string | undefined];
  if (type !== undefined && id === undefined) throw new UsageError('"watch" takes an endpoint alone, or an endpoint, a type and an id');
  const timeout = int(c.opts.timeout, 'timeout', 1, 86_400 * 365);
  const path = id === undefined ? `/endpoints/${enc(endpoint)}/commands/events` : `${commandPath(c)}/events`;
  let last: CommandDescriptor | undefined;
  const end = await follow({
    api: c.api,
    path,
    signal: c.signal,
    deadline: timeout === undefined ? undefined : Date.now() + timeout * 1000,
    onEvent: (d) => {
      last = d;
      c.out(c.json ? JSON.stringify(d) + '\n' : eventLine(d));
    },
  });
  if (id === undefined) return EXIT.ok;
  if (end === 'deleted') {
    c.out(c.json ? JSON.stringify({ deleted: `${endpoint}/${type}/${id}` }) + '\n' : `deleted ${endpoint}/${type}/${id}\n`);
    return EXIT.notFound;
  }
  // 204 on the first connect: the final state was already known; show it.
  if (end === 'final' && !last) last = (await call(c.api, 'GET', commandPath(c))).body as CommandDescriptor;
  return last && end === 'final' ? exitFor(last) : EXIT.noResult;
}
