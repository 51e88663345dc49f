import type { Sql } from '../db/index.js';
import type { Command, CommandStatus } from '../domain/index.js';
import { COMMAND_COLUMNS, commandColumnsSql, toCommand } from './rows.js';

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
  const col = SORT_COLUMNS[q.sort];
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  const cmp = q.order === 'asc' ? '>' : '<';
  const params: unknown[] = [q.tenantId, q.applicationName, q.commandTypes ?? null, q.statuses ?? null, q.size + 1];
  let keyset = '';
  if (q.after) {
    params.push(q.sort === 'commandId' ? Number(q.after.value) : q.after.value, q.after.endpointId, q.after.commandType, q.after.commandId);
    // A timestamp travels as text and is cast in SQL: a parameter typed
    // timestamptz goes through postgres.js's Date serializer, which keeps
    // milliseconds only, so rows sharing a batch's created_at were skipped
    // (desc) or repeated for ever (asc).
    const value = q.sort === 'commandId' ? '$6::int' : '$6::text::timestamptz';
    keyset = `AND (${col}, endpoint_id, command_type, command_id) ${cmp} (${value}, $7, $8, $9::int)`;
  }
  const offset = q.after ? 0 : (q.offset ?? 0);
  const rows = await sql.unsafe(
    // The sort value travels as ISO text in UTC with microseconds: a JS Date
    // has only milliseconds, and a rounded cursor would skip or repeat rows.
    `SELECT ${COMMAND_COLUMNS}, ${sortText(col)} AS "sortText" FROM commands
      WHERE tenant_id = $1 AND application_name = $2
        AND ($3::text[] IS NULL OR command_type = ANY($3::text[]))
        AND ($4::text[] IS NULL OR status = ANY($4::text[]))
        ${keyset}
      ORDER BY ${col} ${dir}, endpoint_id ${dir}, command_type ${dir}, command_id ${dir}
      LIMIT $5 OFFSET ${offset}`,
    params as never[],
  );
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
export async function countApplication(sql: Sql, q: Pick<ApplicationQuery, 'tenantId' | 'applicationName' | 'commandTypes' | 'statuses'>): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM commands
     WHERE tenant_id = ${q.tenantId} AND application_name = ${q.applicationName}
       AND (${(q.commandTypes ?? null) as string[] | null}::text[] IS NULL OR command_type = ANY(${(q.commandTypes ?? null) as string[] | null}::text[]))
       AND (${(q.statuses ?? null) as string[] | null}::text[] IS NULL OR status = ANY(${(q.statuses ?? null) as string[] | null}::text[]))`;
  return row?.n ?? 0;
}
