import { removeCommand } from '../../shared/commands/index.js';
import { toDescriptor } from '../../shared/domain/index.js';
import { NotFoundError } from '../../shared/errors/index.js';
import { defineUnit, type UnitRoute } from '../../shared/host/units.js';
import { sendJson } from '../../shared/http/index.js';
import { authorize, descriptorSchema, oneCommandPath, parsePath, SCOPES } from '../../shared/rest/index.js';
import { readCommand } from '../../shared/store/index.js';
import { commandEventsRoute, endpointEventsRoute } from './events.js';

const PATH = '/api/v1/endpoints/{endpointId}/commands/{commandType}/{commandId}';

const notFound = () => new NotFoundError('COMMAND_NOT_FOUND', 'no such command');

/** GET one command: its descriptor (docs/rest-api.md, "Read one and delete"). Another tenant's command is 404. */
export const readRoute: UnitRoute = {
  unit: 'command-lookup',
  method: 'GET',
  path: PATH,
  operationId: 'getCommand',
  summary: 'Read one command',
  params: oneCommandPath,
  responses: { 200: { description: 'The command descriptor', schema: descriptorSchema } },
  errors: { 404: 'No such command (or another tenant’s)' },
  async handle({ req, res, params }, rt) {
    const caller = await authorize(rt, req, SCOPES.read);
    const ref = parsePath(oneCommandPath, params);
    const command = await readCommand(rt.sql, caller.tenantId, ref);
    if (!command) throw notFound();
    sendJson(res, 200, toDescriptor(command));
  },
};

/**
 * DELETE one command (Kaa 1.3): gone from every list, no longer outstanding;
 * a later result gets a 1/KP 404 and a sync caller still waiting gets 404.
 */
export const deleteRoute: UnitRoute = {
  unit: 'command-lookup',
  method: 'DELETE',
  path: PATH,
  operationId: 'deleteCommand',
  summary: 'Delete one command',
  params: oneCommandPath,
  responses: { 204: { description: 'Deleted' } },
  errors: { 404: 'No such command (or another tenant’s)' },
  async handle({ req, res, params }, rt) {
    const caller = await authorize(rt, req, SCOPES.update);
    const ref = parsePath(oneCommandPath, params);
    if (!(await removeCommand(rt, caller.tenantId, ref))) throw notFound();
    res.writeHead(204).end();
  },
};

/** command-lookup: REST read and delete of one command, and live status streams. */
export const commandLookup = defineUnit({
  name: 'command-lookup',
  routes: [readRoute, deleteRoute, commandEventsRoute, endpointEventsRoute],
});
