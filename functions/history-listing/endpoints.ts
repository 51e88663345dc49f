import * as z from 'zod';
import { toDescriptor } from '../../shared/domain/index.js';
import { sendJson } from '../../shared/http/index.js';
import type { UnitRoute } from '../../shared/host/units.js';
import {
  authorize,
  commandTypeList,
  csv,
  endpointHistorySchema,
  endpointIdSchema,
  intString,
  param,
  parseQuery,
  SCOPES,
  statusList,
} from '../../shared/rest/index.js';
import { listEndpointHistory } from '../../shared/store/index.js';

const historyQuery = z.object({
  endpointId: param(csv(endpointIdSchema, 100), 'INVALID_ENDPOINT_ID', 'Endpoint ids (repeat the parameter or comma-separate), 1–100'),
  commandTypes: commandTypeList,
  status: statusList,
  limit: param(intString(1, 1000).optional(), 'INVALID_LIMIT', 'Commands per endpoint, 1–1000 (default 100)'),
  offset: param(
    intString(0, 1_000_000).optional(),
    'INVALID_OFFSET',
    'Commands to skip per endpoint, newest first (default 0): offset = page × limit',
  ),
});

/**
 * GET /api/v1/endpoints/commands (Kaa 1.2): each requested endpoint's
 * commands newest first, one element per endpoint in request order.
 */
export const endpointHistoryRoute: UnitRoute = {
  unit: 'history-listing',
  method: 'GET',
  path: '/api/v1/endpoints/commands',
  operationId: 'listEndpointCommands',
  summary: 'Commands of one or more endpoints, newest first',
  query: historyQuery,
  responses: { 200: { description: 'One element per requested endpoint', schema: endpointHistorySchema } },
  async handle({ req, res, query }, rt) {
    const caller = await authorize(rt, req, SCOPES.read);
    const q = parseQuery(historyQuery, query, ['endpointId']);
    const endpointIds = [...new Set(q.endpointId)];
    const history = await listEndpointHistory(
      rt.sql,
      caller.tenantId,
      endpointIds,
      { ...(q.commandTypes ? { commandTypes: q.commandTypes } : {}), ...(q.status ? { statuses: q.status } : {}) },
      q.limit ?? 100,
      q.offset ?? 0,
    );
    sendJson(
      res,
      200,
      endpointIds.map((endpointId) => ({ endpointId, commands: (history.get(endpointId) ?? []).map(toDescriptor) })),
    );
  },
};
