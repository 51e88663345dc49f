import type { Sql, TransactionSql } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import { ConflictError, NotFoundError, classifyPgError } from '../errors/index.js';
import { expiryWindowMillis, type CommandRef, type JsonValue } from '../domain/index.js';
import { jsonParam } from './rows.js';

/** One endpoint of a batch, with its app version when the caller knows it (20/EFMP does). */
export interface BatchEndpoint {
  endpointId: string;
  appVersionName: string | null;
}

export interface NewBatch {
  tenantId: string;
  commandType: string;
  /** The 20/EFMP filter the endpoints came from; null for by-endpoints. */
  filterId: string | null;
  payload: JsonValue;
  ttlMillis: number;
  /** Distinct endpoint ids (the caller de-duplicates). */
  endpoints: readonly BatchEndpoint[];
  /** Whether applications come from Tekton (cex_application_of derives each endpoint's). Default false. */
  tektonEnabled?: boolean;
  /** The W3C traceparent of the batch request (tracing on): every command's push and result join its trace. */
  traceparent?: string;
  /**
   * Whether the caller's tenant may command an endpoint of this app version
   * (Tekton on: the version's application is the tenant's). One endpoint that
   * is not makes the whole batch 404, as invoke answers for that endpoint.
   */
  visible?: (appVersionName: string) => boolean;
}

export interface CreatedBatch {
  taskId: string;
  createdAt: Date;
  /** The commands created, one per endpoint: NOTIFY their keys after the commit. */
  commands: CommandRef[];
}

/**
 * Creates a batch task and one command per endpoint in ONE transaction, with
 * a fixed number of statements whatever the batch size (docs/architecture.md: batching
 * many commands into one transaction is the lever for bulk paths): the app
 * versions not given are read in one query, the task is inserted, and one
 * statement allocates every id (one counter upsert per endpoint), inserts
 * every command and writes or coalesces every push row. Counters and push
 * rows are locked in endpoint order, the order every other bulk writer uses,
 * so two batches over overlapping endpoints cannot deadlock.
 */
export async function createBatch(sql: Sql, input: NewBatch): Promise<CreatedBatch> {
  try {
    return await withTransaction(sql, (tx) => createInTransaction(tx, input));
  } catch (err) {
    if (classifyPgError(err) === 'out_of_range') {
      throw new ConflictError('COMMAND_ID_EXHAUSTED', `no command id is left for some endpoint's ${input.commandType} commands`, {
        cause: err,
      });
    }
    throw err;
  }
}

async function createInTransaction(tx: TransactionSql, input: NewBatch): Promise<CreatedBatch> {
  const endpoints = await withKnownVersions(tx, input.endpoints);
  const hidden = input.visible ? endpoints.filter((e) => e.appVersionName !== null && !input.visible!(e.appVersionName)) : [];
  if (hidden.length > 0) {
    const shown = hidden
      .slice(0, 5)
      .map((e) => e.endpointId)
      .join(', ');
    throw new NotFoundError('ENDPOINT_NOT_FOUND', `no such endpoint: ${shown}${hidden.length > 5 ? ` and ${hidden.length - 5} more` : ''}`);
  }
  const versions = endpoints.map((e) => e.appVersionName);
  const tektonEnabled = input.tektonEnabled ?? false;
  const payload = jsonParam(input.payload);

  // A task lists under app_name when its endpoints belong to one application
  // (a Kaa filter is defined per application, so filter batches always do):
  // no endpoint without one, and one distinct name.
  const [task] = await tx<{ taskId: string; createdAt: Date }[]>`
    WITH apps AS (SELECT cex_application_of(v, ${tektonEnabled}) AS app FROM unnest(${versions}::text[]) AS u(v))
    INSERT INTO batch_tasks (tenant_id, command_type, filter_id, app_name, request_payload, endpoint_count)
    SELECT ${input.tenantId}, ${input.commandType}, ${input.filterId}::text,
           (SELECT CASE WHEN count(*) = count(app) AND count(DISTINCT app) = 1 THEN min(app) END FROM apps),
           ${payload}::text::jsonb, ${endpoints.length}
    RETURNING task_id::text AS "taskId", created_at AS "createdAt"`;
  if (endpoints.length === 0) return { taskId: task!.taskId, createdAt: task!.createdAt, commands: [] };

  const pushOnce = input.ttlMillis === 0;
  const windowMs = expiryWindowMillis(input.ttlMillis, 0);
  const rows = await tx<{ endpointId: string; commandId: number }[]>`
    WITH input AS (
       SELECT * FROM unnest(${endpoints.map((e) => e.endpointId)}::text[], ${versions}::text[]) AS u(endpoint_id, app_version_name)),
     ids AS (
       INSERT INTO command_id_counters (endpoint_id, command_type, last_id)
       SELECT endpoint_id, ${input.commandType}, 1 FROM input ORDER BY endpoint_id
       ON CONFLICT (endpoint_id, command_type) DO UPDATE SET last_id = command_id_counters.last_id + 1
       RETURNING endpoint_id, last_id),
     created AS (
       INSERT INTO commands (
         endpoint_id, command_type, command_id, tenant_id, request_payload, expires_at, ttl_millis,
         push_once, app_version_name, application_name, origin, batch_task_id, traceparent)
       SELECT i.endpoint_id, ${input.commandType}, ids.last_id, ${input.tenantId}, ${payload}::text::jsonb,
              now() + make_interval(secs => ${windowMs}::bigint / 1000.0), ${input.ttlMillis},
              ${pushOnce}, i.app_version_name, cex_application_of(i.app_version_name, ${tektonEnabled}), 'batch', ${task!.taskId}::uuid,
              ${input.traceparent ?? null}::text
         FROM input i JOIN ids USING (endpoint_id)
       RETURNING endpoint_id, command_id),
     pushes AS (
       INSERT INTO outbox (kind, endpoint_id, command_type, include_ids)
       SELECT 'push', endpoint_id, ${input.commandType}, CASE WHEN ${pushOnce} THEN ARRAY[command_id] ELSE '{}'::int[] END
         FROM created ORDER BY endpoint_id
       ON CONFLICT (endpoint_id, command_type) WHERE kind = 'push' DO UPDATE
         SET generation   = outbox.generation + 1,
             include_ids  = outbox.include_ids || EXCLUDED.include_ids,
             available_at = LEAST(outbox.available_at, now())
       RETURNING 1)
     SELECT endpoint_id AS "endpointId", command_id AS "commandId", (SELECT count(*) FROM pushes)::int AS pushes
       FROM created`;
  const commands = rows.map((r) => ({
    endpointId: r.endpointId,
    commandType: input.commandType,
    commandId: r.commandId,
  }));
  return { taskId: task!.taskId, createdAt: task!.createdAt, commands };
}

/** Fills in the app versions the caller did not know from endpoint_state, in one query. */
async function withKnownVersions(tx: TransactionSql, endpoints: readonly BatchEndpoint[]): Promise<BatchEndpoint[]> {
  const unknown = endpoints.filter((e) => e.appVersionName === null).map((e) => e.endpointId);
  if (unknown.length === 0) return [...endpoints];
  const known = await tx<{ endpointId: string; appVersionName: string | null }[]>`
    SELECT endpoint_id AS "endpointId", app_version_name AS "appVersionName"
      FROM endpoint_state WHERE endpoint_id = ANY(${unknown}::text[])`;
  const byId = new Map(known.map((k) => [k.endpointId, k.appVersionName]));
  return endpoints.map((e) => (e.appVersionName === null ? { ...e, appVersionName: byId.get(e.endpointId) ?? null } : e));
}
