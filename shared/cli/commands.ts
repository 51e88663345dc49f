import { readFile } from 'node:fs/promises';
import type { CommandDescriptor } from '../domain/index.js';
import { call, type Api } from './client.js';
import { follow } from './follow.js';
import { commandName, descriptorTable, descriptorText, eventLine, json, table, time } from './format.js';
import { startSpinner } from './spinner.js';

/** Exit codes (also in `cex --help` and the README). */
export const EXIT = { ok: 0, error: 1, noResult: 2, notFound: 3, usage: 64 } as const;

/** A command line that cannot be run as given. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What every subcommand gets: the API, the parsed options, and where to write. */
export interface Context {
  api: Api;
  args: string[];
  opts: Record<string, string | boolean | undefined>;
  json: boolean;
  out(text: string): void;
  /** Aborted by Ctrl-C. */
  signal: AbortSignal;
}

const enc = encodeURIComponent;

function need(args: string[], count: number, usage: string): string[] {
  if (args.length < count) throw new UsageError(`usage: ${usage}`);
  return args;
}

function int(value: string | boolean | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** The payload argument: JSON text, `-` for stdin, or absent (null). */
async function payloadOf(text: string | undefined): Promise<unknown> {
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

/** cex invoke <endpoint> <type> [json] [--wait S] [--ttl MS] [--callback URL] */
export async function invoke(c: Context): Promise<number> {
  const [endpoint, type, payloadText] = need(c.args, 2, 'cex invoke <endpoint> <type> [json] [--wait S] [--ttl MS]');
  const payload = await payloadOf(payloadText);
  const wait = int(c.opts.wait, 'wait', 0, 86_400) ?? 10;
  const ttl = int(c.opts.ttl, 'ttl', 0, 2_147_483_647);
  const deadline = Date.now() + wait * 1000;
  const spinner = startSpinner(`waiting for ${endpoint}/${type}`);
  try {
    const query = { awaitTimeout: Math.min(wait, 60), commandTtl: ttl, callbackUrl: c.opts.callback as string | undefined };
    const res = await call(c.api, 'POST', `/endpoints/${enc(endpoint!)}/commands/${enc(type!)}`, { query, ...(payload === undefined ? {} : { body: payload }) });
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

/** cex get <endpoint> <type> <id> */
export async function get(c: Context): Promise<number> {
  const [endpoint, type, id] = need(c.args, 3, 'cex get <endpoint> <type> <id>');
  const d = (await call(c.api, 'GET', `/endpoints/${enc(endpoint!)}/commands/${enc(type!)}/${enc(id!)}`)).body as CommandDescriptor;
  c.out(c.json ? JSON.stringify(d) + '\n' : descriptorText(d));
  return EXIT.ok;
}

/** cex delete <endpoint> <type> <id> */
export async function remove(c: Context): Promise<number> {
  const [endpoint, type, id] = need(c.args, 3, 'cex delete <endpoint> <type> <id>');
  await call(c.api, 'DELETE', `/endpoints/${enc(endpoint!)}/commands/${enc(type!)}/${enc(id!)}`);
  c.out(c.json ? JSON.stringify({ deleted: `${endpoint}/${type}/${id}` }) + '\n' : `deleted ${endpoint}/${type}/${id}\n`);
  return EXIT.ok;
}

/** cex list <endpoint>[,…] | --app <name> [--status S] [--type T] [--limit N] [--page N] */
export async function list(c: Context): Promise<number> {
  const limit = int(c.opts.limit, 'limit', 1, 1000);
  const filters = { status: c.opts.status as string | undefined, commandTypes: c.opts.type as string | undefined };
  if (typeof c.opts.app === 'string') {
    const query = { ...filters, size: limit ?? 20, page: int(c.opts.page, 'page', 0, 1_000_000) };
    const body = (await call(c.api, 'GET', `/endpoints/commands/${enc(c.opts.app)}`, { query })).body as { content: CommandDescriptor[]; totalElements: number; page: number; totalPages: number };
    c.out(c.json ? JSON.stringify(body) + '\n' : descriptorTable(body.content) + `page ${body.page + 1} of ${Math.max(body.totalPages, 1)}, ${body.totalElements} commands\n`);
    return EXIT.ok;
  }
  const endpoints = need(c.args, 1, 'cex list <endpoint>[,<endpoint>…] | --app <name>').join(',');
  const body = (await call(c.api, 'GET', '/endpoints/commands', { query: { ...filters, endpointId: endpoints, limit } })).body as { endpointId: string; commands: CommandDescriptor[] }[];
  c.out(c.json ? JSON.stringify(body) + '\n' : descriptorTable(body.flatMap((e) => e.commands)));
  return EXIT.ok;
}

/** cex watch <endpoint> [<type> <id>] [--timeout S] */
export async function watch(c: Context): Promise<number> {
  const [endpoint, type, id] = need(c.args, 1, 'cex watch <endpoint> [<type> <id>] [--timeout S]');
  if (type !== undefined && id === undefined) throw new UsageError('usage: cex watch <endpoint> [<type> <id>]');
  const timeout = int(c.opts.timeout, 'timeout', 1, 86_400 * 365);
  const path = id === undefined ? `/endpoints/${enc(endpoint!)}/commands/events` : `/endpoints/${enc(endpoint!)}/commands/${enc(type!)}/${enc(id)}/events`;
  let last: CommandDescriptor | undefined;
  const end = await follow({
    api: c.api, path, signal: c.signal, deadline: timeout === undefined ? undefined : Date.now() + timeout * 1000,
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
  if (end === 'final' && !last) last = (await call(c.api, 'GET', `/endpoints/${enc(endpoint!)}/commands/${enc(type!)}/${enc(id)}`)).body as CommandDescriptor;
  return last && end === 'final' ? exitFor(last) : EXIT.noResult;
}

/** The ids of --endpoints: comma-separated, or @file with ids separated by commas or whitespace. */
async function endpointList(value: string): Promise<string[]> {
  const text = value.startsWith('@') ? await readFile(value.slice(1), 'utf8') : value;
  return text.split(/[\s,]+/).filter((s) => s.length > 0);
}

/** cex batch <type> --endpoints a,b,c|@file | --filter <id> [json] [--ttl MS] */
export async function batch(c: Context): Promise<number> {
  const [type, payloadText] = need(c.args, 1, 'cex batch <type> --endpoints a,b,c | --filter <id> [json] [--ttl MS]');
  const payload = await payloadOf(payloadText);
  const query = { commandTtl: int(c.opts.ttl, 'ttl', 0, 2_147_483_647) };
  let res;
  if (typeof c.opts.endpoints === 'string') {
    const endpointIds = await endpointList(c.opts.endpoints);
    res = await call(c.api, 'POST', `/endpoints/commands/${enc(type!)}/batch/by-endpoints`, { query, body: { payload: payload ?? null, endpointIds } });
  } else if (typeof c.opts.filter === 'string') {
    res = await call(c.api, 'POST', `/endpoints/commands/${enc(type!)}/batch`, { query: { ...query, filterId: c.opts.filter }, ...(payload === undefined ? {} : { body: payload }) });
  } else {
    throw new UsageError('cex batch needs --endpoints or --filter');
  }
  const { taskId } = res.body as { taskId: string };
  return showTask(c, taskId);
}

/** cex task <id> [--all] */
export async function task(c: Context): Promise<number> {
  const [taskId] = need(c.args, 1, 'cex task <id> [--all]');
  return showTask(c, taskId!);
}

async function showTask(c: Context, taskId: string): Promise<number> {
  type Pair = { endpointId: string; commandId: number };
  const t = (await call(c.api, 'GET', `/endpoints/commands/batch/tasks/${enc(taskId)}`)).body as Record<'pending' | 'executed' | 'expired', Pair[]> & {
    taskId: string; commandType: string; filterId: string | null; createdAt: string; pendingCount: number; executedCount: number; expiredCount: number;
  };
  if (c.json) {
    c.out(JSON.stringify(t) + '\n');
    return EXIT.ok;
  }
  const show = c.opts.all ? Infinity : 20;
  let text = `task ${t.taskId}  ${t.commandType}${t.filterId ? ` (filter ${t.filterId})` : ''}  created ${time(t.createdAt)}\n`;
  text += `pending ${t.pendingCount}   executed ${t.executedCount}   expired ${t.expiredCount}\n`;
  const rows = (['pending', 'executed', 'expired'] as const).flatMap((s) => t[s].slice(0, show).map((p) => [s.toUpperCase(), p.endpointId, p.commandId]));
  if (rows.length > 0) text += '\n' + table(['STATUS', 'ENDPOINT', 'ID'], rows);
  const hidden = t.pendingCount + t.executedCount + t.expiredCount - rows.length;
  if (hidden > 0) text += `… and ${hidden} more (--all, or --json)\n`;
  c.out(text);
  return EXIT.ok;
}

/** cex tasks [--app A] [--type T] [--filter F] [--limit N] [--offset N] */
export async function tasks(c: Context): Promise<number> {
  const query = {
    appName: c.opts.app as string | undefined, commandType: c.opts.type as string | undefined, filterId: c.opts.filter as string | undefined,
    limit: int(c.opts.limit, 'limit', 1, 100), offset: int(c.opts.offset, 'offset', 0, 1_000_000),
  };
  const body = (await call(c.api, 'GET', '/endpoints/commands/batch/tasks', { query })).body as {
    totalElements: number; content: { taskId: string; commandType: string; filterId: string | null; createdAt: string; pendingCount: number; executedCount: number; expiredCount: number; requestPayload: unknown }[];
  };
  if (c.json) c.out(JSON.stringify(body) + '\n');
  else {
    c.out(table(['TASK', 'TYPE', 'FILTER', 'CREATED', 'PENDING', 'EXECUTED', 'EXPIRED', 'PAYLOAD'],
      body.content.map((t) => [t.taskId, t.commandType, t.filterId, time(t.createdAt), t.pendingCount, t.executedCount, t.expiredCount, json(t.requestPayload)])));
    c.out(`${body.totalElements} tasks\n`);
  }
  return EXIT.ok;
}
