import type { Sql } from '../db/index.js';

/**
 * Records the app version an endpoint just used (every ClientData carries it).
 * Returns the previous version, so callers can tell a change from a repeat.
 */
export async function noteAppVersion(sql: Sql, endpointId: string, appVersionName: string): Promise<string | null> {
  const [row] = await sql<{ previous: string | null }[]>`
    INSERT INTO endpoint_state AS s (endpoint_id, app_version_name)
    VALUES (${endpointId}, ${appVersionName})
    ON CONFLICT (endpoint_id) DO UPDATE
      SET app_version_name = EXCLUDED.app_version_name, updated_at = now()
      WHERE s.app_version_name IS DISTINCT FROM EXCLUDED.app_version_name
    RETURNING (SELECT app_version_name FROM endpoint_state WHERE endpoint_id = ${endpointId}) AS previous`;
  // No row back: the version was already the one on record.
  return row ? row.previous : appVersionName;
}

/** Marks endpoints online or offline (9/ELCE), learning their app versions. */
export async function setOnline(sql: Sql, endpoints: ReadonlyMap<string, string>, online: boolean): Promise<void> {
  if (endpoints.size === 0) return;
  const ids = [...endpoints.keys()];
  const versions = ids.map((id) => endpoints.get(id) || null);
  await sql`
    INSERT INTO endpoint_state AS s (endpoint_id, app_version_name, online)
    SELECT * FROM unnest(${ids}::text[], ${versions as string[]}::text[], array_fill(${online}::boolean, ARRAY[${ids.length}::int]))
    ON CONFLICT (endpoint_id) DO UPDATE
      SET online = EXCLUDED.online,
          app_version_name = COALESCE(EXCLUDED.app_version_name, s.app_version_name),
          updated_at = now()`;
}

/** Sets the endpoint's observe flag for a type ('*' for the all-types poll). */
export async function setObserve(sql: Sql, endpointId: string, commandType: string, observe: boolean): Promise<void> {
  await sql`
    INSERT INTO endpoint_observe (endpoint_id, command_type, observe)
    VALUES (${endpointId}, ${commandType}, ${observe})
    ON CONFLICT (endpoint_id, command_type) DO UPDATE SET observe = EXCLUDED.observe, updated_at = now()`;
}

export interface EndpointState {
  appVersionName: string | null;
  online: boolean | null;
  /** The effective observe flag for the type asked: type-specific, else '*', else true. */
  observes: boolean;
}

export async function readEndpointState(sql: Sql, endpointId: string, commandType: string): Promise<EndpointState> {
  const [row] = await sql<{ appVersionName: string | null; online: boolean | null; observes: boolean }[]>`
    SELECT s.app_version_name AS "appVersionName", s.online,
           COALESCE(
             (SELECT observe FROM endpoint_observe WHERE endpoint_id = ${endpointId} AND command_type = ${commandType}),
             (SELECT observe FROM endpoint_observe WHERE endpoint_id = ${endpointId} AND command_type = '*'),
             true) AS observes
      FROM (SELECT 1) one
      LEFT JOIN endpoint_state s ON s.endpoint_id = ${endpointId}`;
  return row ?? { appVersionName: null, online: null, observes: true };
}

/** The endpoint's last known app version (null if never seen). */
export async function readEndpointAppVersion(sql: Sql, endpointId: string): Promise<string | null> {
  const [row] = await sql<{ v: string | null }[]>`SELECT app_version_name AS v FROM endpoint_state WHERE endpoint_id = ${endpointId}`;
  return row?.v ?? null;
}
