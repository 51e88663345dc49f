import * as z from 'zod';
import type { ServerResponse } from 'node:http';
import { invokeCommand } from '../../shared/commands/index.js';
import { hostAllowed } from '../../shared/config/index.js';
import { toDescriptor, type Command } from '../../shared/domain/index.js';
import { NotFoundError, UnavailableError, ValidationError } from '../../shared/errors/index.js';
import { sendJson, type RouteContext } from '../../shared/http/index.js';
import type { UnitRoute } from '../../shared/host/units.js';
import type { Services } from '../../shared/roots/services.js';
import { authorize, commandLocation, SCOPES } from '../../shared/rest/index.js';
import { commandPath, intString, param, parseCommandPayload, parsePath, parseQuery } from '../../shared/rest/index.js';
import { descriptorSchema } from '../../shared/rest/schemas.js';
import { readCommand, readEndpointAppVersion } from '../../shared/store/index.js';
import { traceWait } from '../../shared/tracing/index.js';

const invokeQuery = z.object({
  // No upper bound here: invoke() checks the configured CEX_MAX_AWAIT_TIMEOUT_SECONDS
  // (whatever it is set to, up to 3600), and /openapi.json documents that maximum.
  awaitTimeout: param(
    intString(0, Infinity, 'seconds').optional(),
    'INVALID_AWAIT_TIMEOUT',
    'Seconds to wait for the result, 0 to CEX_MAX_AWAIT_TIMEOUT_SECONDS (default 5); 0 = do not wait',
  ),
  commandTtl: param(
    intString(0, 2_147_483_647, 'milliseconds').optional(),
    'INVALID_COMMAND_TTL',
    'Milliseconds the command stays eligible for execution (default CEX_COMMAND_TTL_MILLIS); 0 = push once',
  ),
  callbackUrl: param(
    callbackUrlSchema().optional(),
    'INVALID_CALLBACK_URL',
    'http(s) URL that receives the descriptor when the command becomes EXECUTED or EXPIRED; no user or password',
  ),
});

/**
 * An absolute http(s) URL without credentials: fetch refuses URLs with a
 * user or password, so such a callback could never be delivered (and the
 * password would sit in the outbox). Receivers authenticate CEX by
 * X-CEX-Signature instead.
 */
function callbackUrlSchema() {
  return z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: `only http and https are allowed, not ${url.protocol.slice(0, -1)}` });
      } else if (url.username || url.password) {
        ctx.addIssue({
          code: 'custom',
          message:
            'must not contain a user name or password (user:password@); verify deliveries by X-CEX-Signature (CEX_CALLBACK_SECRET) instead',
        });
      }
    })
    .meta({ format: 'uri' });
}

const DEFAULT_AWAIT_SECONDS = 5;
// Waiters leave within awaitTimeout (5 s by default, most far sooner): a
// client told to come back in 1 s usually finds room.
const WAITERS_RETRY_AFTER_SECONDS = '1';
// Visible ASCII, as HTTP header values allow without ambiguity.
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** POST /api/v1/endpoints/{endpointId}/commands/{commandType}: invoke, sync or async (docs/rest-api.md, Invoke). */
export const invokeRoute: UnitRoute = {
  unit: 'command-submit',
  method: 'POST',
  path: '/api/v1/endpoints/{endpointId}/commands/{commandType}',
  operationId: 'invokeCommand',
  summary: 'Invoke a command on an endpoint; wait up to awaitTimeout seconds for its result',
  params: commandPath,
  query: invokeQuery,
  headers: {
    'Idempotency-Key': {
      description:
        'Up to 255 visible ASCII characters: a repeat with the same key, endpoint and type within the TTL returns the first command (409 if its body differs)',
      schema: z.string().regex(IDEMPOTENCY_KEY),
    },
  },
  requestBody: { contentTypes: ['application/json', 'text/plain'] },
  responses: {
    200: {
      description:
        "The endpoint's result arrived in time: the body is its payload as JSON (null when it sent none); the X-Command-* headers carry its status",
      schema: z.unknown().describe("The endpoint's result payload, any JSON value"),
      headers: {
        Location: { description: 'The command: /api/v1/endpoints/{endpointId}/commands/{commandType}/{commandId}', required: true },
        'X-Command-Id': { description: 'The command id', required: true, schema: z.string().regex(/^\d+$/) },
        'X-Command-Status-Code': {
          description: "The endpoint's statusCode (any: a non-2xx still answers 200)",
          required: true,
          schema: z.string().regex(/^\d*$/),
        },
        'X-Command-Reason-Phrase': { description: "The endpoint's reasonPhrase, percent-encoded; absent when it sent none" },
      },
    },
    202: {
      description: 'No result within awaitTimeout (or awaitTimeout=0, or expired while waiting): the command descriptor',
      schema: descriptorSchema,
      headers: {
        Location: { description: 'The command: /api/v1/endpoints/{endpointId}/commands/{commandType}/{commandId}', required: true },
      },
    },
  },
  errors: {
    404: 'The endpoint belongs to another tenant (Tekton on), or the command was deleted while waiting',
    409: 'The Idempotency-Key was used with another body',
    413: 'The payload is larger than CEX_MAX_PAYLOAD_BYTES',
    415: 'The body is neither application/json nor text/plain (or not UTF-8)',
    503: 'Postgres cannot be reached (nothing was stored), too many sync callers wait here already (TOO_MANY_WAITERS, with Retry-After), or this instance is shutting down',
  },
  handle: invoke,
};

async function invoke({ req, res, params, query, body }: RouteContext, rt: Services): Promise<void> {
  const caller = await authorize(rt, req, SCOPES.update);
  const { endpointId, commandType } = parsePath(commandPath, params);
  const q = parseQuery(invokeQuery, query);
  const awaitTimeout = q.awaitTimeout ?? DEFAULT_AWAIT_SECONDS;
  if (awaitTimeout > rt.config.maxAwaitTimeoutSeconds) {
    // Worded as the schema words its own bound (CEX_MAX_AWAIT_TIMEOUT_SECONDS sets this one).
    const given = query.get('awaitTimeout') ?? String(awaitTimeout);
    const shown = given.length > 64 ? `${given.slice(0, 64)}…` : given;
    throw new ValidationError(
      'INVALID_AWAIT_TIMEOUT',
      `awaitTimeout: "${shown}" is not valid: must be at most ${rt.config.maxAwaitTimeoutSeconds} seconds`,
    );
  }
  if (q.callbackUrl) {
    const url = new URL(q.callbackUrl);
    if (!hostAllowed(url, rt.config.callbackAllowedHosts)) {
      throw new ValidationError('CALLBACK_HOST_NOT_ALLOWED', `callbackUrl host "${url.host}" is not listed in CEX_CALLBACK_ALLOWED_HOSTS`);
    }
  }
  const idempotencyKey = req.headers['idempotency-key'];
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))) {
    throw new ValidationError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  const payload = parseCommandPayload(req, body, rt.config.maxPayloadBytes);
  await assertEndpointVisible(rt, caller.tenantId, endpointId);
  if (awaitTimeout > 0 && !rt.waiters.hasRoom()) {
    res.setHeader('retry-after', WAITERS_RETRY_AFTER_SECONDS);
    throw new UnavailableError(
      'TOO_MANY_WAITERS',
      `${rt.config.maxWaiters} sync invocations are waiting here already; nothing was stored, retry later or use awaitTimeout=0`,
    );
  }

  // Taken before the create, so the wait below can skip its first re-read (ChangeFeed.expect).
  const expectation = awaitTimeout > 0 ? rt.changes.expect(endpointId, commandType) : undefined;
  let outcome;
  try {
    outcome = await invokeCommand(rt, {
      tenantId: caller.tenantId,
      endpointId,
      commandType,
      payload,
      ttlMillis: q.commandTtl ?? rt.config.commandTtlMillis,
      awaitTimeoutSeconds: awaitTimeout,
      origin: 'rest',
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(q.callbackUrl ? { callbackUrl: q.callbackUrl } : {}),
    });
  } catch (err) {
    if (expectation) rt.changes.forget(expectation);
    throw err;
  }
  const { command } = outcome;
  // An Idempotency-Key replay found an older command: it may have changed, so it is read first.
  const created = outcome.created ? expectation : undefined;
  if (expectation && !created) rt.changes.forget(expectation);
  const location = commandLocation(req, command);
  if (command.status !== 'PENDING' || awaitTimeout === 0) {
    if (created) rt.changes.forget(created);
    return answerWith(res, location, command);
  }

  // Released when the client goes away, so nothing waits for a closed socket.
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableEnded) gone.abort();
  });
  const waited = await traceWait(() => rt.waiters.wait(command, awaitTimeout * 1000, gone.signal, created));
  if (gone.signal.aborted) return;
  switch (waited.kind) {
    case 'final':
      return answerWith(res, location, waited.command);
    case 'deleted':
      throw new NotFoundError('COMMAND_NOT_FOUND', 'the command was deleted while waiting for its result');
    default: {
      // Timed out or released by shutdown: answer with the freshest state.
      const latest = await readCommand(rt.sql, caller.tenantId, command).catch(() => command);
      if (!latest) throw new NotFoundError('COMMAND_NOT_FOUND', 'the command was deleted while waiting for its result');
      return answerWith(res, location, latest);
    }
  }
}

/**
 * With Tekton on, an endpoint whose app version belongs to another tenant's
 * application is "not found" for this caller (docs/rest-api.md: 404 endpoint not
 * visible). An endpoint never seen yet is visible: commands may wait for it.
 */
async function assertEndpointVisible(rt: Services, tenantId: string, endpointId: string): Promise<void> {
  if (!rt.config.tekton.enabled) return;
  const appVersion = await readEndpointAppVersion(rt.sql, endpointId);
  if (appVersion && rt.tenancy.tenantOfAppVersion(appVersion) !== tenantId) {
    throw new NotFoundError('ENDPOINT_NOT_FOUND', 'no such endpoint');
  }
}

/** 200 with the result when EXECUTED, else 202 with the descriptor. */
function answerWith(res: ServerResponse, location: string, command: Command): void {
  if (command.status === 'EXECUTED') {
    const headers: Record<string, string> = {
      location,
      'x-command-id': String(command.commandId),
      'x-command-status-code': String(command.statusCode ?? ''),
    };
    if (command.reasonPhrase !== null) headers['x-command-reason-phrase'] = encodeURIComponent(command.reasonPhrase);
    sendJson(res, 200, command.responsePayload ?? null, headers);
    return;
  }
  sendJson(res, 202, toDescriptor(command), { location });
}
