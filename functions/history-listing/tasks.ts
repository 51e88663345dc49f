import * as z from 'zod';
import { NotFoundError } from '../../shared/errors/index.js';
import { sendJson } from '../../shared/http/index.js';
import type { UnitRoute } from '../../shared/host/units.js';
import {
  authorize,
  batchTaskPageSchema,
  batchTaskSchema,
  commandTypeSchema,
  intString,
  param,
  parsePath,
  parseQuery,
  SCOPES,
} from '../../shared/rest/index.js';
import { listBatchTasks, readBatchTask, type BatchTaskSummary, type TaskSortField } from '../../shared/store/index.js';

const taskPath = z.object({
  taskId: param(z.uuid('must be a task id (UUID)'), 'INVALID_TASK_ID', 'Batch task id, as returned by the batch invocation'),
});

const taskListQuery = z.object({
  appName: param(
    z
      .string()
      .regex(/^[A-Za-z0-9._~-]{1,256}$/, 'must be 1-256 characters of A-Z a-z 0-9 . _ ~ -')
      .optional(),
    'INVALID_APP_NAME',
    'Only tasks whose endpoints all belong to this application',
  ),
  commandType: param(commandTypeSchema.optional(), 'INVALID_COMMAND_TYPE', 'Only tasks of this command type'),
  filterId: param(z.string().min(1).max(256).optional(), 'INVALID_FILTER_ID', 'Only tasks of this endpoint filter'),
  sortBy: param(
    z.enum(['createdAt', 'commandType', 'filterId']).optional(),
    'INVALID_SORT_BY',
    'createdAt (default), commandType or filterId',
  ),
  sortOrder: param(z.enum(['asc', 'desc', 'ASC', 'DESC']).optional(), 'INVALID_SORT_ORDER', 'asc or desc (default desc)'),
  offset: param(intString(0, 1_000_000).optional(), 'INVALID_OFFSET', 'Tasks to skip (default 0)'),
  limit: param(intString(1, 100).optional(), 'INVALID_LIMIT', 'Tasks per page, 1–100 (default 20)'),
});

const notFound = () => new NotFoundError('TASK_NOT_FOUND', 'no such batch task');

/** The counts of a task as JSON (ISO timestamps, no internal columns). */
function counts(t: BatchTaskSummary) {
  return {
    taskId: t.taskId,
    commandType: t.commandType,
    filterId: t.filterId,
    createdAt: t.createdAt.toISOString(),
    pendingCount: t.pendingCount,
    executedCount: t.executedCount,
    succeededCount: t.succeededCount,
    failedCount: t.failedCount,
    expiredCount: t.expiredCount,
  };
}

/**
 * GET /api/v1/endpoints/commands/batch/tasks/{taskId} (Kaa 1.4): the task's
 * counts and the (endpointId, commandId) pairs behind each. The counts follow
 * the commands as results and expiries come in. Another tenant's task is 404.
 */
export const batchTaskRoute: UnitRoute = {
  unit: 'history-listing',
  method: 'GET',
  path: '/api/v1/endpoints/commands/batch/tasks/{taskId}',
  operationId: 'getBatchTask',
  summary: "A batch task's counts and commands by status",
  params: taskPath,
  responses: { 200: { description: 'The task', schema: batchTaskSchema } },
  errors: { 404: 'No such task (or another tenant’s)' },
  async handle({ req, res, params }, rt) {
    const caller = await authorize(rt, req, SCOPES.read);
    const { taskId } = parsePath(taskPath, params);
    const task = await readBatchTask(rt.sql, caller.tenantId, taskId);
    if (!task) throw notFound();
    sendJson(res, 200, {
      ...counts(task),
      pending: task.pending,
      executed: task.executed,
      succeeded: task.succeeded,
      failed: task.failed,
      expired: task.expired,
    });
  },
};

/** GET /api/v1/endpoints/commands/batch/tasks (Kaa 1.4): the caller's tasks, paged, with their counts. */
export const batchTaskListRoute: UnitRoute = {
  unit: 'history-listing',
  method: 'GET',
  path: '/api/v1/endpoints/commands/batch/tasks',
  operationId: 'listBatchTasks',
  summary: 'Batch tasks, filtered and paged, with their counts',
  query: taskListQuery,
  responses: { 200: { description: 'One page of tasks', schema: batchTaskPageSchema } },
  async handle({ req, res, query }, rt) {
    const caller = await authorize(rt, req, SCOPES.read);
    const q = parseQuery(taskListQuery, query);
    const { total, tasks } = await listBatchTasks(rt.sql, {
      tenantId: caller.tenantId,
      ...(q.appName ? { appName: q.appName } : {}),
      ...(q.commandType ? { commandType: q.commandType } : {}),
      ...(q.filterId ? { filterId: q.filterId } : {}),
      sortBy: (q.sortBy ?? 'createdAt') as TaskSortField,
      sortOrder: q.sortOrder?.toLowerCase() === 'asc' ? 'asc' : 'desc',
      offset: q.offset ?? 0,
      limit: q.limit ?? 20,
    });
    sendJson(res, 200, { totalElements: total, content: tasks.map((t) => ({ ...counts(t), requestPayload: t.requestPayload })) });
  },
};
