import * as z from 'zod';
import type { IncomingMessage } from 'node:http';
import { createBatchCommands } from '../../shared/commands/index.js';
import type { JsonValue } from '../../shared/domain/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import { PayloadTooLargeError, sendJson, type RouteContext } from '../../shared/http/index.js';
import type { UnitRoute } from '../../shared/host/units.js';
import type { Services } from '../../shared/roots/services.js';
import { forwardedPrefix } from '../../shared/rest/location.js';
import {
  authorize,
  commandPath,
  endpointIdSchema,
  intString,
  mediaType,
  param,
  parseCommandPayload,
  parsePath,
  parseQuery,
  SCOPES,
  UnsupportedMediaTypeError,
} from '../../shared/rest/index.js';
import { batchAcceptedSchema } from '../../shared/rest/schemas.js';
import { parseJsonPayload } from '../../shared/protocol/index.js';
import type { BatchEndpoint } from '../../shared/store/index.js';
import { resolveFilter } from './efmp.js';

/** At most this many ids per by-endpoints batch (docs/rest-api.md, Batch). */
export const MAX_BATCH_ENDPOINTS = 10_000;

const ttlParam = param(
  intString(0, 2_147_483_647, 'milliseconds').optional(),
  'INVALID_COMMAND_TTL',
  'Milliseconds each command stays eligible for execution (default CEX_COMMAND_TTL_MILLIS); 0 = push once',
);
const batchPath = commandPath.pick({ commandType: true });

const filterQuery = z.object({
  filterId: param(
    z.string().regex(/^[A-Za-z0-9._~:-]{1,256}$/, 'must be 1-256 characters of A-Z a-z 0-9 . _ ~ : -'),
    'INVALID_FILTER_ID',
    'The endpoint filter (20/EFMP) whose endpoints, resolved once, get the command',
  ),
  commandTtl: ttlParam,
});

const endpointsQuery = z.object({ commandTtl: ttlParam });

const endpointsBody = z
  .object({
    payload: z.unknown().optional().describe('The command payload (any JSON; absent = null)'),
    endpointIds: z
      .array(endpointIdSchema)
      .min(1)
      .max(MAX_BATCH_ENDPOINTS)
      .describe(`1-${MAX_BATCH_ENDPOINTS} endpoint ids; repeats count once`),
  })
  .strict();

const accepted = {
  202: {
    description: 'The task was created with one command per endpoint',
    schema: batchAcceptedSchema,
    headers: { Location: { description: 'The task: /api/v1/endpoints/commands/batch/tasks/{taskId}', required: true } },
  },
};

/**
 * POST /api/v1/endpoints/commands/{commandType}/batch?filterId= (Kaa 1.4):
 * the filter is resolved once over 20/EFMP (through the bridge); each of its
 * endpoints gets its own command, all created in one transaction.
 */
export const batchByFilterRoute: UnitRoute = {
  unit: 'command-submit',
  method: 'POST',
  path: '/api/v1/endpoints/commands/{commandType}/batch',
  operationId: 'invokeBatchByFilter',
  summary: "Invoke a command on every endpoint of a filter (resolved once); the body is the command's payload",
  params: batchPath,
  query: filterQuery,
  requestBody: { contentTypes: ['application/json', 'text/plain'] },
  responses: accepted,
  errors: {
    413: 'The payload is larger than CEX_MAX_PAYLOAD_BYTES',
    415: 'The body is neither application/json nor text/plain (or not UTF-8)',
    502: 'The endpoint registry refused the filter (EFMP_ERROR); nothing was stored',
    503: 'Postgres or the bridge cannot be reached (nothing was stored), or this instance is shutting down',
    504: 'The endpoint registry did not answer within CEX_EFMP_TIMEOUT_MS (EFMP_TIMEOUT); nothing was stored',
  },
  async handle({ req, res, params, query, body }, rt) {
    const caller = await authorize(rt, req, SCOPES.update);
    const { commandType } = parsePath(batchPath, params);
    const q = parseQuery(filterQuery, query);
    const payload = parseCommandPayload(req, body, rt.config.maxPayloadBytes);
    const log = rt.log.child({ commandType, filterId: q.filterId });
    const endpoints = await resolveFilter(rt, q.filterId, log);
    await answer(rt, req, res, { tenantId: caller.tenantId, commandType, filterId: q.filterId, payload, ttl: q.commandTtl, endpoints });
  },
};

/** POST …/batch/by-endpoints: body {payload, endpointIds} (Kaa 1.4). */
export const batchByEndpointsRoute: UnitRoute = {
  unit: 'command-submit',
  method: 'POST',
  path: '/api/v1/endpoints/commands/{commandType}/batch/by-endpoints',
  operationId: 'invokeBatchByEndpoints',
  summary: 'Invoke a command on each listed endpoint (1-10,000)',
  params: batchPath,
  query: endpointsQuery,
  requestBody: { contentTypes: ['application/json'], schema: endpointsBody },
  responses: accepted,
  errors: {
    413: 'The payload is larger than CEX_MAX_PAYLOAD_BYTES',
    415: 'The body is not application/json',
  },
  async handle(ctx: RouteContext, rt) {
    const caller = await authorize(rt, ctx.req, SCOPES.update);
    const { commandType } = parsePath(batchPath, ctx.params);
    const q = parseQuery(endpointsQuery, ctx.query);
    const { payload, endpointIds } = parseEndpointsBody(ctx.req, ctx.body, rt.config.maxPayloadBytes);
    const endpoints = endpointIds.map((endpointId): BatchEndpoint => ({ endpointId, appVersionName: null }));
    await answer(rt, ctx.req, ctx.res, { tenantId: caller.tenantId, commandType, filterId: null, payload, ttl: q.commandTtl, endpoints });
  },
};

interface BatchInput {
  tenantId: string;
  commandType: string;
  filterId: string | null;
  payload: JsonValue;
  ttl: number | undefined;
  endpoints: BatchEndpoint[];
}

async function answer(rt: Services, req: IncomingMessage, res: RouteContext['res'], b: BatchInput): Promise<void> {
  const started = process.hrtime.bigint();
  const { tenancy } = rt;
  const created = await createBatchCommands(
    rt,
    {
      tenantId: b.tenantId,
      commandType: b.commandType,
      filterId: b.filterId,
      payload: b.payload,
      ttlMillis: b.ttl ?? rt.config.commandTtlMillis,
      endpoints: b.endpoints,
      ...(rt.config.tekton.enabled ? { visible: (v: string) => tenancy.tenantOfAppVersion(v) === b.tenantId } : {}),
    },
    b.filterId === null ? 'endpoints' : 'filter',
  );
  rt.log.info(
    {
      taskId: created.taskId,
      commandType: b.commandType,
      filterId: b.filterId,
      commands: created.commands.length,
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    },
    'batch created',
  );
  const location = `${forwardedPrefix(req)}/api/v1/endpoints/commands/batch/tasks/${created.taskId}`;
  sendJson(res, 202, { taskId: created.taskId }, { location });
}

/**
 * The by-endpoints body: JSON only (strict UTF-8, nesting capped), the
 * payload within CEX_MAX_PAYLOAD_BYTES, 1-10,000 valid ids (repeats count
 * once). Each failure names what is wrong with a stable code.
 */
function parseEndpointsBody(req: IncomingMessage, raw: Buffer, maxPayloadBytes: number): { payload: JsonValue; endpointIds: string[] } {
  const type = mediaType(req);
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) throw new UnsupportedMediaTypeError(type || '(none)');
  // Room for the payload and 10,000 ids of 128 characters, quoted and separated.
  if (raw.length > maxPayloadBytes + MAX_BATCH_ENDPOINTS * 131 + 1024)
    throw new PayloadTooLargeError(maxPayloadBytes + MAX_BATCH_ENDPOINTS * 131 + 1024);
  if (raw.length === 0) throw new ValidationError('INVALID_BODY', 'a body {"payload": …, "endpointIds": […]} is required');
  let value: unknown;
  try {
    value = parseJsonPayload(raw);
  } catch (err) {
    throw new ValidationError('INVALID_JSON', (err as Error).message, { cause: err });
  }
  const parsed = endpointsBody.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? '');
    const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
    const code = field === 'endpointIds' ? 'INVALID_ENDPOINT_IDS' : 'INVALID_BODY';
    throw new ValidationError(code, `${where}: ${issue.message}`);
  }
  const payload = (parsed.data.payload ?? null) as JsonValue;
  if (Buffer.byteLength(JSON.stringify(payload)) > maxPayloadBytes) throw new PayloadTooLargeError(maxPayloadBytes);
  return { payload, endpointIds: [...new Set(parsed.data.endpointIds)] };
}
