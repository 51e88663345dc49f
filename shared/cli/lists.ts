import { readFile } from 'node:fs/promises';
import type { CommandDescriptor } from '../domain/index.js';
import { UsageError } from './args.js';
import { call } from './client.js';
import { EXIT, enc, int, payloadOf, type Context } from './commands.js';
import { descriptorTable, json, table, time } from './format.js';

// The server's default per endpoint (CEX-API.md §2, history per endpoint).
const ENDPOINT_PAGE = 100;
const APP_PAGE = 20;

/**
 * cex list <endpoint>[,…] | --app <name> [--status S] [--type T] [--limit N] [--page N]:
 * --page counts from 1 in and out; for endpoints it pages each endpoint's
 * history by --limit (newest first).
 */
export async function list(c: Context): Promise<number> {
  const limit = int(c.opts.limit, 'limit', 1, 1000);
  const page = int(c.opts.page, 'page', 1, 1_000_000) ?? 1;
  const filters = { status: c.opts.status as string | undefined, commandTypes: c.opts.type as string | undefined };
  if (typeof c.opts.app === 'string') {
    if (c.args.length > 0) throw new UsageError('list an application (--app) or endpoints, not both');
    const size = limit ?? APP_PAGE;
    const query = { ...filters, size, page: page - 1 };
    const body = (await call(c.api, 'GET', `/endpoints/commands/${enc(c.opts.app)}`, { query })).body as {
      content: CommandDescriptor[];
      totalElements: number;
      page: number;
      totalPages: number;
    };
    if (c.json) c.out(JSON.stringify(body) + '\n');
    else {
      const next = body.page + 1 < body.totalPages ? ` (--page ${body.page + 2} for the next)` : '';
      c.out(
        descriptorTable(body.content) + `page ${body.page + 1} of ${Math.max(body.totalPages, 1)}, ${body.totalElements} commands${next}\n`,
      );
    }
    return EXIT.ok;
  }
  if (c.args.length === 0) throw new UsageError('"list" needs endpoint ids (e-1,e-2) or --app <name>');
  const size = limit ?? ENDPOINT_PAGE;
  const query = { ...filters, endpointId: c.args.join(','), limit: size, offset: (page - 1) * size };
  const body = (await call(c.api, 'GET', '/endpoints/commands', { query })).body as { endpointId: string; commands: CommandDescriptor[] }[];
  if (c.json) c.out(JSON.stringify(body) + '\n');
  else {
    const more = body.some((e) => e.commands.length === size) ? ` (--page ${page + 1} for older)` : '';
    c.out(descriptorTable(body.flatMap((e) => e.commands)) + `page ${page}, up to ${size} per endpoint${more}\n`);
  }
  return EXIT.ok;
}

const READ_ERRORS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory' };

/** The ids of --endpoints: comma-separated, or @file with ids separated by commas or whitespace. */
async function endpointList(value: string): Promise<string[]> {
  let text = value;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      throw new UsageError(`--endpoints ${value}: cannot read ${file} (${READ_ERRORS[code] ?? (err as Error).message})`);
    }
  }
  const ids = text.split(/[\s,]+/).filter((s) => s.length > 0);
  if (ids.length === 0) throw new UsageError(`--endpoints ${value.slice(0, 60)} lists no endpoint ids`);
  return ids;
}

/** cex batch <type> --endpoints a,b,c|@file | --filter <id> [json] [--ttl MS] */
export async function batch(c: Context): Promise<number> {
  const [type, payloadText] = c.args as [string, string | undefined];
  const byIds = typeof c.opts.endpoints === 'string';
  const byFilter = typeof c.opts.filter === 'string';
  if (byIds === byFilter) throw new UsageError(byIds ? 'give --endpoints or --filter, not both' : '"batch" needs --endpoints or --filter');
  const payload = await payloadOf(payloadText);
  const query = { commandTtl: int(c.opts.ttl, 'ttl', 0, 2_147_483_647) };
  const res = byIds
    ? await call(c.api, 'POST', `/endpoints/commands/${enc(type)}/batch/by-endpoints`, {
        query,
        body: { payload: payload ?? null, endpointIds: await endpointList(c.opts.endpoints as string) },
      })
    : await call(c.api, 'POST', `/endpoints/commands/${enc(type)}/batch`, {
        query: { ...query, filterId: c.opts.filter as string },
        ...(payload === undefined ? {} : { body: payload }),
      });
  return showTask(c, (res.body as { taskId: string }).taskId);
}

/** cex task <id> [--all] */
export async function task(c: Context): Promise<number> {
  return showTask(c, c.args[0]!);
}

type Pair = { endpointId: string; commandId: number; statusCode?: number };
interface TaskView {
  taskId: string;
  commandType: string;
  filterId: string | null;
  createdAt: string;
  pendingCount: number;
  executedCount: number;
  succeededCount: number;
  failedCount: number;
  expiredCount: number;
  pending: Pair[];
  succeeded: Pair[];
  failed: Pair[];
  expired: Pair[];
}

async function showTask(c: Context, taskId: string): Promise<number> {
  const t = (await call(c.api, 'GET', `/endpoints/commands/batch/tasks/${enc(taskId)}`)).body as TaskView;
  if (c.json) {
    c.out(JSON.stringify(t) + '\n');
    return EXIT.ok;
  }
  const show = c.opts.all ? Infinity : 20;
  let text = `task ${t.taskId}  ${t.commandType}${t.filterId ? ` (filter ${t.filterId})` : ''}  created ${time(t.createdAt)}\n`;
  text += `pending ${t.pendingCount}   executed ${t.executedCount} (succeeded ${t.succeededCount}, failed ${t.failedCount})   expired ${t.expiredCount}\n`;
  const rows = (['pending', 'succeeded', 'failed', 'expired'] as const).flatMap((s) =>
    t[s].slice(0, show).map((p) => [s.toUpperCase(), p.endpointId, p.commandId, p.statusCode ?? null]),
  );
  if (rows.length > 0) text += '\n' + table(['STATUS', 'ENDPOINT', 'ID', 'CODE'], rows);
  const hidden = t.pendingCount + t.executedCount + t.expiredCount - rows.length;
  if (hidden > 0) text += `… and ${hidden} more (--all, or --json)\n`;
  c.out(text);
  return EXIT.ok;
}

/** cex tasks [--app A] [--type T] [--filter F] [--limit N] [--offset N] */
export async function tasks(c: Context): Promise<number> {
  const query = {
    appName: c.opts.app as string | undefined,
    commandType: c.opts.type as string | undefined,
    filterId: c.opts.filter as string | undefined,
    limit: int(c.opts.limit, 'limit', 1, 100),
    offset: int(c.opts.offset, 'offset', 0, 1_000_000),
  };
  const body = (await call(c.api, 'GET', '/endpoints/commands/batch/tasks', { query })).body as {
    totalElements: number;
    content: (Omit<TaskView, 'pending' | 'succeeded' | 'failed' | 'expired'> & { requestPayload: unknown })[];
  };
  if (c.json) c.out(JSON.stringify(body) + '\n');
  else {
    c.out(
      table(
        ['TASK', 'TYPE', 'FILTER', 'CREATED', 'PENDING', 'EXECUTED', 'SUCCEEDED', 'FAILED', 'EXPIRED', 'PAYLOAD'],
        body.content.map((t) => [
          t.taskId,
          t.commandType,
          t.filterId,
          time(t.createdAt),
          t.pendingCount,
          t.executedCount,
          t.succeededCount,
          t.failedCount,
          t.expiredCount,
          json(t.requestPayload),
        ]),
      ),
    );
    c.out(`${body.totalElements} tasks\n`);
  }
  return EXIT.ok;
}
