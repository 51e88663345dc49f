import type { IncomingMessage } from 'node:http';
import * as z from 'zod';
import { isFinal } from '../../shared/domain/index.js';
import { NotFoundError, ValidationError } from '../../shared/errors/index.js';
import type { UnitRoute } from '../../shared/host/units.js';
import { authorize, descriptorSchema, endpointIdParam, oneCommandPath, parsePath, SCOPES } from '../../shared/rest/index.js';
import { readCommand } from '../../shared/store/index.js';
import { decodeEndpointCursor, decodeVersion, INITIAL_CURSOR, openEventStream } from '../../shared/streams/index.js';

const EVENT_STREAM = 'text/event-stream';

function lastEventId(req: IncomingMessage): string | undefined {
  const raw = req.headers['last-event-id'];
  return (Array.isArray(raw) ? raw[0] : raw)?.trim();
}

/**
 * GET …/commands/{commandType}/{commandId}/events: the command's status as
 * server-sent events (`event: status`, `data:` the descriptor, `id:` its
 * version). The first event is the current state (or, with Last-Event-ID,
 * the first state after it); the stream ends after EXECUTED or EXPIRED. A
 * client that already saw the final state gets 204, which tells EventSource
 * to stop reconnecting. A DELETE of the command sends `event: deleted` and
 * ends the stream.
 */
export const commandEventsRoute: UnitRoute = {
  unit: 'command-lookup',
  method: 'GET',
  path: '/api/v1/endpoints/{endpointId}/commands/{commandType}/{commandId}/events',
  operationId: 'streamCommandStatus',
  summary: 'Live status of one command (server-sent events); ends after its final state',
  responses: {
    200: { description: 'event: status, data: the descriptor, id: its version', schema: descriptorSchema, contentType: EVENT_STREAM },
    204: { description: 'The client (Last-Event-ID) already saw the final state' },
  },
  params: oneCommandPath,
  headers: { 'Last-Event-ID': { description: 'Resume after this event id (a version number this stream sent)' } },
  errors: { 404: 'No such command (or another tenant’s)' },
  async handle({ req, res, params }, rt) {
    const caller = await authorize(rt, req, SCOPES.read);
    const ref = parsePath(oneCommandPath, params);
    const after = decodeVersion(lastEventId(req));
    if (after === undefined)
      throw new ValidationError('INVALID_LAST_EVENT_ID', 'Last-Event-ID must be an id this stream sent (a version number)');
    const command = await readCommand(rt.sql, caller.tenantId, ref);
    if (!command) throw new NotFoundError('COMMAND_NOT_FOUND', 'no such command');
    if (isFinal(command.status) && after >= command.version) {
      res.writeHead(204, { 'cache-control': 'no-store' }).end();
      return;
    }
    await rt.streams.followCommand(ref, caller.tenantId, after, openEventStream(res));
  },
};

const endpointPath = z.object({ endpointId: endpointIdParam });

/**
 * GET /api/v1/endpoints/{endpointId}/commands/events: every status change
 * of the endpoint's commands (created, executed, expired) as server-sent
 * events. Without Last-Event-ID it starts with the endpoint's PENDING
 * commands; with one it resumes exactly after it (ids are snapshot cursors,
 * shared/streams/cursor.ts). It runs until the client leaves.
 */
export const endpointEventsRoute: UnitRoute = {
  unit: 'command-lookup',
  method: 'GET',
  path: '/api/v1/endpoints/{endpointId}/commands/events',
  operationId: 'streamEndpointStatus',
  summary: 'Live status of every command of an endpoint (server-sent events)',
  responses: {
    200: {
      description: 'event: status, data: a descriptor, id: an opaque resume cursor',
      schema: descriptorSchema,
      contentType: EVENT_STREAM,
    },
  },
  params: endpointPath,
  headers: { 'Last-Event-ID': { description: 'Resume exactly after this event id (an opaque cursor this stream sent)' } },
  async handle({ req, res, params }, rt) {
    const caller = await authorize(rt, req, SCOPES.read);
    const { endpointId } = parsePath(endpointPath, params);
    const id = lastEventId(req);
    const cursor = id ? decodeEndpointCursor(id) : INITIAL_CURSOR;
    if (!cursor) throw new ValidationError('INVALID_LAST_EVENT_ID', 'Last-Event-ID must be an id this stream sent');
    await rt.streams.followEndpoint(endpointId, caller.tenantId, cursor, openEventStream(res));
  },
};
