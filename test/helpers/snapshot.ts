import type { Sql } from '../../shared/db/index.js';
import { quoteIdent } from '../../shared/db/index.js';

/** Row count and content checksum of one table. */
export interface TableState {
  rows: number;
  md5: string;
}

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
    const [row] = await sql.unsafe(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 FROM ${quoteIdent(name)} t`,
    );
    out[name] = row as unknown as TableState;
  }
  return out;
}
