import * as z from 'zod';
import { COMMAND_STATUSES } from '../domain/index.js';

/**
 * Response shapes for /openapi.json. The handlers build these bodies with
 * toDescriptor (shared/domain); a test checks real responses against them.
 */
const isoTimestamp = z.iso.datetime({ offset: false }).describe('ISO-8601 UTC timestamp');

export const descriptorSchema = z
  .object({
    commandId: z.number().int().positive(),
    commandType: z.string(),
    endpointId: z.string(),
    status: z.enum(COMMAND_STATUSES),
    statusCode: z.number().int().nullable(),
    reasonPhrase: z.string().nullable(),
    requestPayload: z.unknown(),
    responsePayload: z.unknown().nullable(),
    createdAt: isoTimestamp,
    updatedAt: isoTimestamp,
    expiresAt: isoTimestamp,
    appVersionName: z.string().nullable(),
    delivery: z.object({
      pushes: z.number().int().nonnegative(),
      lastPushedAt: isoTimestamp.nullable(),
      fetchedAt: isoTimestamp.nullable(),
    }),
  })
  .strict()
  .meta({ id: 'CommandDescriptor' });

export const endpointHistorySchema = z.array(z.object({ endpointId: z.string(), commands: z.array(descriptorSchema) }).strict());

export const applicationPageSchema = z
  .object({
    content: z.array(descriptorSchema),
    page: z.number().int().nonnegative(),
    size: z.number().int().positive(),
    totalElements: z.number().int().nonnegative(),
    totalPages: z.number().int().nonnegative(),
    nextCursor: z.string().nullable(),
  })
  .strict();

/** 202 of a batch invocation (Kaa 1.4). */
export const batchAcceptedSchema = z.object({ taskId: z.uuid() }).strict();

const taskCommand = z.object({ endpointId: z.string(), commandId: z.number().int().positive() }).strict();
const taskResult = taskCommand.extend({ statusCode: z.number().int().describe("The endpoint's statusCode") }).strict();

const taskCounts = {
  taskId: z.uuid(),
  commandType: z.string(),
  filterId: z.string().nullable(),
  createdAt: isoTimestamp,
  pendingCount: z.number().int().nonnegative(),
  executedCount: z.number().int().nonnegative().describe('Commands with a result, whatever its statusCode: succeededCount + failedCount'),
  succeededCount: z.number().int().nonnegative().describe('Executed with a 2xx statusCode'),
  failedCount: z.number().int().nonnegative().describe('Executed with any other statusCode'),
  expiredCount: z.number().int().nonnegative(),
};

/** GET …/batch/tasks/{taskId}: the counts and the commands behind each. */
export const batchTaskSchema = z
  .object({
    ...taskCounts,
    pending: z.array(taskCommand),
    executed: z.array(taskCommand),
    succeeded: z.array(taskResult).describe('The executed commands whose statusCode is 2xx'),
    failed: z.array(taskResult).describe('The executed commands with any other statusCode'),
    expired: z.array(taskCommand),
  })
  .strict()
  .meta({ id: 'BatchTask' });

/** GET …/batch/tasks: one page of tasks. */
export const batchTaskPageSchema = z
  .object({
    totalElements: z.number().int().nonnegative(),
    content: z.array(z.object({ ...taskCounts, requestPayload: z.unknown() }).strict()),
  })
  .strict();
