import type { Sql, TransactionSql } from '../db/index.js';
import type { Command, CommandStatus, JsonValue } from '../domain/index.js';

/** The column list every read of `commands` selects, aliased to Command's fields. */
export const COMMAND_COLUMNS = `
  endpoint_id        AS "endpointId",
  command_type       AS "commandType",
  command_id         AS "commandId",
  tenant_id          AS "tenantId",
  status,
  status_code        AS "statusCode",
  reason_phrase      AS "reasonPhrase",
  request_payload    AS "requestPayload",
  response_payload   AS "responsePayload",
  created_at         AS "createdAt",
  updated_at         AS "updatedAt",
  expires_at         AS "expiresAt",
  ttl_millis         AS "ttlMillis",
  push_once          AS "pushOnce",
  app_version_name   AS "appVersionName",
  application_name   AS "applicationName",
  origin,
  idempotency_key    AS "idempotencyKey",
  cip_reply_subject  AS "cipReplySubject",
  cip_correlation_id AS "cipCorrelationId",
  callback_url       AS "callbackUrl",
  batch_task_id      AS "batchTaskId",
  push_count         AS "pushCount",
  last_pushed_at     AS "lastPushedAt",
  fetched_at         AS "fetchedAt",
  traceparent,
  version`;

/** The same list qualified with a table alias, for joins. */
export function commandColumns(alias: string): string {
  return COMMAND_COLUMNS.replace(/^(\s+)([a-z_]+)/gm, `$1${alias}.$2`);
}

const qualified = new Map<string, string>();

/**
 * The column list as a fragment of a tagged template (qualified with `alias`
 * when given). The statement around it stays a tagged template, so postgres.js
 * prepares it once per connection and later runs skip the parse and the
 * describe round trip; `sql.unsafe` of a whole text is never prepared. The
 * fragment is constant text, so one statement keeps one prepared name.
 */
export function commandColumnsSql(sql: Sql | TransactionSql, alias?: string) {
  if (alias === undefined) return sql.unsafe(COMMAND_COLUMNS);
  let text = qualified.get(alias);
  if (text === undefined) qualified.set(alias, (text = commandColumns(alias)));
  return sql.unsafe(text);
}

/** postgres.js already parses jsonb and timestamptz; this only fixes types. */
export function toCommand(row: Record<string, unknown>): Command {
  return {
    ...(row as unknown as Command),
    status: row.status as CommandStatus,
    requestPayload: (row.requestPayload ?? null) as JsonValue,
    responsePayload: (row.responsePayload ?? null) as JsonValue | null,
  };
}

/** JSON text for a `::jsonb` parameter; undefined (absent) becomes SQL NULL. */
export function jsonParam(value: JsonValue | undefined): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
