import type { Sql } from '../db/index.js';
import type { Command } from '../domain/index.js';
import { commandColumnsSql, toCommand } from './rows.js';

/**
 * Where a per-endpoint live stream stands, in Postgres snapshots (text form
 * `xmin:xmax:xip,…` of pg_snapshot): the client has seen every status change
 * `base` sees, plus those `current` sees but `base` does not whose key
 * (command type in "C" collation, command id) is at most `last`. `base` '*'
 * means the stream began with the endpoint's PENDING commands as of
 * `current` rather than with a snapshot; `current` null means nothing was
 * read yet. shared/streams/cursor.ts builds and encodes these.
 */
export interface EndpointCursor {
  base: string;
  current: string | null;
  lastType: string | null;
  lastId: number | null;
}

export interface EndpointStreamRead {
  /** Caller's handle for the stream, echoed on its rows. */
  sid: number;
  endpointId: string;
  tenantId: string;
  cursor: EndpointCursor;
}

/**
 * One row to send: `continued` rows finish the set the cursor was in the
 * middle of (current seen, base not), `fresh` ones are new since `current`.
 */
export interface EndpointChange {
  sid: number;
  part: 'continued' | 'fresh';
  command: Command;
}

/**
 * What changed for each stream since its cursor, read for all of them in ONE
 * statement, with the snapshot that statement ran under. Rows come in send
 * order: per stream, the continued ones, then the fresh ones, each by key.
 * The (endpoint_id, status_xid) index makes each stream's part a range scan
 * from the snapshot's xmin, whatever the endpoint's history holds.
 */
export async function readEndpointChanges(
  sql: Sql,
  streams: readonly EndpointStreamRead[],
): Promise<{ snapshot: string; changes: EndpointChange[] }> {
  const cols = commandColumnsSql(sql, 'c');
  const rows = await sql<Record<string, unknown>[]>`
    WITH snap AS MATERIALIZED (SELECT pg_current_snapshot()::text AS s),
     st AS (
       SELECT * FROM unnest(${streams.map((s) => s.sid)}::int[], ${streams.map((s) => s.endpointId)}::text[],
                            ${streams.map((s) => s.tenantId)}::text[], ${streams.map((s) => s.cursor.base)}::text[],
                            ${streams.map((s) => s.cursor.current)}::text[], ${streams.map((s) => s.cursor.lastType)}::text[],
                            ${streams.map((s) => s.cursor.lastId)}::int[])
                  AS t(sid, endpoint_id, tenant_id, base, cur, ktype, kid)),
     changed AS (
       SELECT st.sid, 0 AS part, ${cols}
         FROM st JOIN commands c ON c.endpoint_id = st.endpoint_id AND c.tenant_id = st.tenant_id
        WHERE st.cur IS NOT NULL
          AND pg_visible_in_snapshot(c.status_xid, st.cur::pg_snapshot)
          AND CASE WHEN st.base = '*' THEN c.status = 'PENDING'
                   ELSE c.status_xid >= pg_snapshot_xmin(st.base::pg_snapshot)
                        AND NOT pg_visible_in_snapshot(c.status_xid, st.base::pg_snapshot) END
          AND (st.ktype IS NULL OR (c.command_type COLLATE "C", c.command_id) > (st.ktype COLLATE "C", st.kid))
       UNION ALL
       SELECT st.sid, 1 AS part, ${cols}
         FROM st JOIN commands c ON c.endpoint_id = st.endpoint_id AND c.tenant_id = st.tenant_id
        WHERE CASE WHEN st.cur IS NULL THEN c.status = 'PENDING'
                   ELSE c.status_xid >= pg_snapshot_xmin(st.cur::pg_snapshot)
                        AND NOT pg_visible_in_snapshot(c.status_xid, st.cur::pg_snapshot) END)
     SELECT snap.s AS snapshot, x.*
       FROM snap LEFT JOIN changed x ON true
      ORDER BY x.sid, x.part, x."commandType" COLLATE "C", x."commandId"`;
  const first = rows[0] as { snapshot: string } | undefined;
  const changes: EndpointChange[] = [];
  for (const row of rows as unknown as (Record<string, unknown> & { sid: number | null; part: number })[]) {
    if (row.sid === null) continue;
    const { sid, part, snapshot: _snapshot, ...command } = row;
    changes.push({ sid, part: part === 0 ? 'continued' : 'fresh', command: toCommand(command) });
  }
  return { snapshot: first!.snapshot, changes };
}
