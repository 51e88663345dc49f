import type { Sql } from '../db/index.js';
import type { CommandStatus, JsonValue } from '../domain/index.js';

/** A batch task as the task list shows it (docs/rest-api.md, Batch). */
export interface BatchTaskSummary {
  taskId: string;
  commandType: string;
  filterId: string | null;
  appName: string | null;
  requestPayload: JsonValue;
  endpointCount: number;
  createdAt: Date;
  pendingCount: number;
  executedCount: number;
  /** Executed with a 2xx statusCode from the endpoint. */
  succeededCount: number;
  /** Executed with any other statusCode: executedCount = succeededCount + failedCount. */
  failedCount: number;
  expiredCount: number;
}

/** One command of a task, as the task's lists show it. */
export interface TaskCommand {
  endpointId: string;
  commandId: number;
}

/** An executed command of a task, with the endpoint's statusCode. */
export interface TaskResult extends TaskCommand {
  statusCode: number;
}

/** A task with the commands behind each count. */
export interface BatchTaskDetail extends BatchTaskSummary {
  pending: TaskCommand[];
  executed: TaskCommand[];
  succeeded: TaskResult[];
  failed: TaskResult[];
  expired: TaskCommand[];
}

/** Whether an endpoint's statusCode counts as success (2xx). */
const succeeded = (statusCode: number | null) => statusCode !== null && statusCode >= 200 && statusCode < 300;

// The counts follow the commands: a result or an expiry moves a command from
// one list to another, a DELETE takes it out of all of them.
const COUNTS = `
  count(*) FILTER (WHERE c.status = 'PENDING')::int  AS "pendingCount",
  count(*) FILTER (WHERE c.status = 'EXECUTED')::int AS "executedCount",
  count(*) FILTER (WHERE c.status = 'EXECUTED' AND c.status_code BETWEEN 200 AND 299)::int AS "succeededCount",
  count(*) FILTER (WHERE c.status = 'EXECUTED' AND c.status_code NOT BETWEEN 200 AND 299)::int AS "failedCount",
  count(*) FILTER (WHERE c.status = 'EXPIRED')::int  AS "expiredCount"`;

const TASK_COLUMNS = `
  t.task_id::text AS "taskId", t.command_type AS "commandType", t.filter_id AS "filterId",
  t.app_name AS "appName", t.request_payload AS "requestPayload", t.endpoint_count AS "endpointCount",
  t.created_at AS "createdAt"`;

/** One task of `tenantId` with its lists; another tenant's task is "not found". */
export async function readBatchTask(sql: Sql, tenantId: string, taskId: string): Promise<BatchTaskDetail | undefined> {
  const [task] =
    await sql`SELECT ${sql.unsafe(TASK_COLUMNS)} FROM batch_tasks t WHERE t.task_id = ${taskId}::uuid AND t.tenant_id = ${tenantId}`;
  if (!task) return undefined;
  const commands = await sql<(TaskCommand & { status: CommandStatus; statusCode: number | null })[]>`
    SELECT endpoint_id AS "endpointId", command_id AS "commandId", status, status_code AS "statusCode"
      FROM commands WHERE batch_task_id = ${taskId}::uuid
     ORDER BY endpoint_id, command_id`;
  const lists: Record<CommandStatus, TaskCommand[]> = { PENDING: [], EXECUTED: [], EXPIRED: [] };
  const outcomes = { succeeded: [] as TaskResult[], failed: [] as TaskResult[] };
  for (const c of commands) {
    lists[c.status].push({ endpointId: c.endpointId, commandId: c.commandId });
    if (c.status === 'EXECUTED') {
      outcomes[succeeded(c.statusCode) ? 'succeeded' : 'failed'].push({
        endpointId: c.endpointId,
        commandId: c.commandId,
        statusCode: c.statusCode ?? 0,
      });
    }
  }
  return {
    ...(task as unknown as BatchTaskSummary),
    requestPayload: ((task as { requestPayload?: JsonValue }).requestPayload ?? null) as JsonValue,
    pendingCount: lists.PENDING.length,
    executedCount: lists.EXECUTED.length,
    succeededCount: outcomes.succeeded.length,
    failedCount: outcomes.failed.length,
    expiredCount: lists.EXPIRED.length,
    pending: lists.PENDING,
    executed: lists.EXECUTED,
    succeeded: outcomes.succeeded,
    failed: outcomes.failed,
    expired: lists.EXPIRED,
  };
}

export type TaskSortField = 'createdAt' | 'commandType' | 'filterId';

export interface TaskQuery {
  tenantId: string;
  appName?: string;
  commandType?: string;
  filterId?: string;
  sortBy: TaskSortField;
  sortOrder: 'asc' | 'desc';
  offset: number;
  limit: number;
}

const TASK_SORT: Record<TaskSortField, string> = { createdAt: 'created_at', commandType: 'command_type', filterId: 'filter_id' };

/**
 * One page of a tenant's tasks with their counts, and the total. The page is
 * cut first and only its tasks are counted (a LATERAL aggregate over the
 * batch index each), so a page costs the same however many tasks exist.
 */
export async function listBatchTasks(sql: Sql, q: TaskQuery): Promise<{ total: number; tasks: BatchTaskSummary[] }> {
  // Column and direction are fixed texts chosen here: a few statement variants, each prepared.
  const col = sql.unsafe(TASK_SORT[q.sortBy]);
  const qualifiedCol = sql.unsafe(`t.${TASK_SORT[q.sortBy]}`);
  const dir = sql.unsafe(q.sortOrder === 'asc' ? 'ASC' : 'DESC');
  const where = sql`tenant_id = ${q.tenantId} AND (${q.appName ?? null}::text IS NULL OR app_name = ${q.appName ?? null})
                 AND (${q.commandType ?? null}::text IS NULL OR command_type = ${q.commandType ?? null})
                 AND (${q.filterId ?? null}::text IS NULL OR filter_id = ${q.filterId ?? null})`;
  const [rows, [count]] = await Promise.all([
    sql<BatchTaskSummary[]>`
      SELECT ${sql.unsafe(TASK_COLUMNS)}, ${sql.unsafe(COUNTS)}
         FROM (SELECT * FROM batch_tasks WHERE ${where}
                ORDER BY ${col} ${dir} NULLS LAST, task_id ${dir} LIMIT ${q.limit} OFFSET ${q.offset}) t
         LEFT JOIN commands c ON c.batch_task_id = t.task_id
        GROUP BY t.task_id, t.command_type, t.filter_id, t.app_name, t.request_payload, t.endpoint_count, t.created_at
        ORDER BY ${qualifiedCol} ${dir} NULLS LAST, t.task_id ${dir}`,
    sql<{ n: number }[]>`SELECT count(*)::int AS n FROM batch_tasks WHERE ${where}`,
  ]);
  const tasks = rows.map((t) => ({ ...t, requestPayload: t.requestPayload ?? null }));
  return { total: count?.n ?? 0, tasks };
}
