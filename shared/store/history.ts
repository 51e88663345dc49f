import type { Sql } from '../db/index.js';
import type { Command, CommandStatus } from '../domain/index.js';
import { commandColumnsSql, toCommand } from './rows.js';

export interface HistoryFilter {
  commandTypes?: readonly string[];
  statuses?: readonly CommandStatus[];
}

/**
 * Newest-first history (createdAt desc, commandId desc) of each endpoint, at
 * most `limit` per endpoint after skipping `offset`, in one query: a LATERAL
 * backward scan of the per-endpoint history index for each id. Returns rows
 * grouped by endpoint.
 */
export async function listEndpointHistory(
  sql: Sql,
  tenantId: string,
  endpointIds: readonly string[],
  filter: HistoryFilter,
  limit: number,
  offset = 0,
): Promise<Map<string, Command[]>> {
  const types = (filter.commandTypes ?? null) as string[] | null;
  const statuses = (filter.statuses ?? null) as string[] | null;
  const rows = await sql<Record<string, unknown>[]>`
    SELECT ${commandColumnsSql(sql, 'c')}
       FROM unnest(${[...new Set(endpointIds)]}::text[]) AS e(id)
       CROSS JOIN LATERAL (
         SELECT * FROM commands
          WHERE endpoint_id = e.id AND tenant_id = ${tenantId}
            AND (${types}::text[] IS NULL OR command_type = ANY(${types}::text[]))
            AND (${statuses}::text[] IS NULL OR status = ANY(${statuses}::text[]))
          ORDER BY created_at DESC, command_id DESC
          LIMIT ${limit} OFFSET ${offset}) c`;
  const byEndpoint = new Map<string, Command[]>(endpointIds.map((id) => [id, []]));
  for (const row of rows) {
    const command = toCommand(row);
    byEndpoint.get(command.endpointId)?.push(command);
  }
  return byEndpoint;
}

export type SortField = 'createdAt' | 'updatedAt' | 'commandId';
export type SortOrder = 'asc' | 'desc';

const SORT_COLUMNS: Record<SortField, string> = {
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  commandId: 'command_id',
};

/** Position after which a keyset page resumes: the last row's sort value and key. */
export interface KeysetPosition {
  value: string | number;
  endpointId: string;
  commandType: string;
  commandId: number;
}

export interface ApplicationQuery extends HistoryFilter {
  tenantId: string;
  applicationName: string;
  sort: SortField;
  order: SortOrder;
  size: number;
  /** Offset paging (page * size); ignored when `after` is given. */
  offset?: number;
  /** Keyset paging: resume strictly after this position. */
  after?: KeysetPosition;
}

/**
 * One page of an application's commands. Ordering is total: the sort column,
 * then (endpoint, type, id), so keyset pages never skip or repeat a row even
 * while new commands arrive. Fetches size + 1 rows to know if more follow.
 */
export async function listApplicationPage(
  sql: Sql,
  q: ApplicationQuery,
): Promise<{ rows: Command[]; hasMore: boolean; last: KeysetPosition | undefined }> {
  const col = sql.unsafe(SORT_COLUMNS[q.sort]);
  const dir = sql.unsafe(q.order === 'asc' ? 'ASC' : 'DESC');
  const types = (q.commandTypes ?? null) as string[] | null;
  const statuses = (q.statuses ?? null) as string[] | null;
  // The sort column, direction and keyset shape are fixed texts chosen here,
  // so the statement has a few variants, each prepared once per connection.
  const keyset = q.after
    ? sql`AND (${col}, endpoint_id, command_type, command_id) ${sql.unsafe(q.order === 'asc' ? '>' : '<')} (
          ${
            q.sort === 'commandId'
              ? sql`${Number(q.after.value)}::int`
              : // A timestamp travels as text and is cast in SQL: a parameter typed
                // timestamptz goes through postgres.js's Date serializer, which keeps
                // milliseconds only, so rows sharing a batch's created_at were skipped
                // (desc) or repeated for ever (asc).
                sql`${String(q.after.value)}::text::timestamptz`
          }, ${q.after.endpointId}, ${q.after.commandType}, ${q.after.commandId}::int)`
    : sql``;
  const offset = q.after ? 0 : (q.offset ?? 0);
  // The sort value travels as ISO text in UTC with microseconds: a JS Date
  // has only milliseconds, and a rounded cursor would skip or repeat rows.
  const rows = await sql<Record<string, unknown>[]>`
    SELECT ${commandColumnsSql(sql)}, ${sql.unsafe(sortText(SORT_COLUMNS[q.sort]))} AS "sortText" FROM commands
     WHERE tenant_id = ${q.tenantId} AND application_name = ${q.applicationName}
       AND (${types}::text[] IS NULL OR command_type = ANY(${types}::text[]))
       AND (${statuses}::text[] IS NULL OR status = ANY(${statuses}::text[]))
       ${keyset}
     ORDER BY ${col} ${dir}, endpoint_id ${dir}, command_type ${dir}, command_id ${dir}
     LIMIT ${q.size + 1} OFFSET ${offset}`;
  const hasMore = rows.length > q.size;
  const page = hasMore ? rows.slice(0, q.size) : [...rows];
  const lastRow = page[page.length - 1] as Record<string, unknown> | undefined;
  const last: KeysetPosition | undefined = lastRow && {
    value: q.sort === 'commandId' ? (lastRow.commandId as number) : (lastRow.sortText as string),
    endpointId: lastRow.endpointId as string,
    commandType: lastRow.commandType as string,
    commandId: lastRow.commandId as number,
  };
  return { rows: page.map((r) => toCommand(r as Record<string, unknown>)), hasMore, last };
}

function sortText(col: string): string {
  return col === 'command_id' ? 'command_id::text' : `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Total count of an application's commands matching the filter (for totalElements). */
export async function countApplication(
  sql: Sql,
  q: Pick<ApplicationQuery, 'tenantId' | 'applicationName' | 'commandTypes' | 'statuses'>,
): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM commands
     WHERE tenant_id = ${q.tenantId} AND application_name = ${q.applicationName}
       AND (${(q.commandTypes ?? null) as string[] | null}::text[] IS NULL OR command_type = ANY(${(q.commandTypes ?? null) as string[] | null}::text[]))
       AND (${(q.statuses ?? null) as string[] | null}::text[] IS NULL OR status = ANY(${(q.statuses ?? null) as string[] | null}::text[]))`;
  return row?.n ?? 0;
}
