import type { Sql } from '../../shared/db/index.js';
import { quoteIdent } from '../../shared/db/index.js';

/** Row count and content checksum of one table. */
export interface TableState {
  rows: number;
  md5: string;
}

// The per-application totals are kept in two tables that a background job
// moves rows between (deltas folded into totals, migration 0006) without
// changing what they count: they are compared as the counts they add up to.
const FOLDED = new Set(['application_totals', 'application_total_deltas']);

/**
 * Row counts and an md5 of every row (as text, sorted) of every table in the
 * public schema, tables added by later migrations included: equal snapshots
 * before and after a run mean nothing stored changed.
 */
export async function snapshotTables(sql: Sql): Promise<Record<string, TableState>> {
  const tables = await sql<{ name: string }[]>`
    SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`;
  const out: Record<string, TableState> = {};
  for (const { name } of tables) {
    if (FOLDED.has(name)) continue;
    const [row] = await sql.unsafe(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 FROM ${quoteIdent(name)} t`,
    );
    out[name] = row as unknown as TableState;
  }
  if (tables.some((t) => FOLDED.has(t.name))) {
    const [totals] = await sql<TableState[]>`
      SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) AS md5 FROM (
        SELECT tenant_id, application_name, command_type, status, sum(n) AS n
          FROM (SELECT tenant_id, application_name, command_type, status, n FROM application_totals
                UNION ALL
                SELECT tenant_id, application_name, command_type, status, n FROM application_total_deltas) parts
         GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) t`;
    out['application totals (folded and not)'] = totals!;
  }
  return out;
}
