import type { Sql } from '../db/index.js';
import type { JsonValue } from '../domain/index.js';

export interface OutstandingCommand {
  commandType: string;
  commandId: number;
  payload: JsonValue;
}

/**
 * The outstanding commands (PENDING, not past expiry, not push-once) of an
 * endpoint, of one type or of all types, oldest first; marks them fetched.
 */
export async function takeOutstanding(sql: Sql, endpointId: string, commandType: string | null): Promise<OutstandingCommand[]> {
  const rows = await sql<(OutstandingCommand & { createdAt: Date })[]>`
    UPDATE commands SET fetched_at = now()
     WHERE endpoint_id = ${endpointId}
       AND (${commandType}::text IS NULL OR command_type = ${commandType})
       AND status = 'PENDING' AND expires_at > now() AND NOT push_once
    RETURNING command_type AS "commandType", command_id AS "commandId",
              request_payload AS "payload", created_at AS "createdAt"`;
  return rows
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.commandId - b.commandId)
    .map(({ commandType: type, commandId, payload }) => ({ commandType: type, commandId, payload: payload ?? null }));
}
