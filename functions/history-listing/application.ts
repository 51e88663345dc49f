import * as z from 'zod';
import { toDescriptor } from '../../shared/domain/index.js';
import { NotFoundError, ValidationError } from '../../shared/errors/index.js';
import { sendJson } from '../../shared/http/index.js';
import type { UnitRoute } from '../../shared/host/units.js';
import {
  applicationPageSchema,
  authorize,
  commandTypeList,
  intString,
  param,
  parsePath,
  parseQuery,
  SCOPES,
  statusList,
} from '../../shared/rest/index.js';
import { countApplication, listApplicationPage, type SortField, type SortOrder } from '../../shared/store/index.js';
import { decodeCursor, encodeCursor } from './cursor.js';

const applicationPath = z.object({
  applicationName: param(
    z.string().regex(/^[A-Za-z0-9._~-]{1,256}$/, 'must be 1-256 characters of A-Z a-z 0-9 . _ ~ -'),
    'INVALID_APPLICATION_NAME',
    'Application name',
  ),
});

const applicationQuery = z.object({
  page: param(intString(0, 1_000_000).optional(), 'INVALID_PAGE', '0-based page number (default 0); prefer cursor for deep pages'),
  size: param(intString(1, 1000).optional(), 'INVALID_SIZE', 'Page size, 1–1000 (default 20)'),
  sort: param(
    z
      .string()
      .regex(/^(createdAt|updatedAt|commandId)(,(asc|desc))?$/, 'must be createdAt|updatedAt|commandId, optionally ,asc or ,desc')
      .optional(),
    'INVALID_SORT',
    'Sort field and order (default createdAt,desc)',
  ),
  commandTypes: commandTypeList,
  status: statusList,
  cursor: param(
    z.string().max(4096).optional(),
    'INVALID_CURSOR',
    'Keyset cursor from a previous nextCursor: constant cost at any depth; its pages report the totals counted for the first page',
  ),
});

/**
 * GET /api/v1/endpoints/commands/{applicationName} (Kaa 1.2): the commands
 * of an application's endpoints, paged by page/size or, at any depth in
 * constant time, by the keyset cursor returned as nextCursor.
 */
export const applicationRoute: UnitRoute = {
  unit: 'history-listing',
  method: 'GET',
  path: '/api/v1/endpoints/commands/{applicationName}',
  operationId: 'listApplicationCommands',
  summary: "Commands of an application's endpoints, paged",
  params: applicationPath,
  query: applicationQuery,
  responses: { 200: { description: 'One page', schema: applicationPageSchema } },
  errors: { 404: 'Tekton is on and lists no such application of the caller’s tenant' },
  async handle({ req, res, params, query }, rt) {
    const caller = await authorize(rt, req, SCOPES.applicationRead);
    const { applicationName } = parsePath(applicationPath, params);
    const q = parseQuery(applicationQuery, query);
    if (!rt.tenancy.isKnownApplication(applicationName, caller.tenantId)) {
      throw new NotFoundError('APPLICATION_NOT_FOUND', 'no such application');
    }
    const [sortField, sortOrder] = (q.sort ?? 'createdAt,desc').split(',') as [SortField, SortOrder | undefined];
    const order: SortOrder = sortOrder ?? 'asc';
    const size = q.size ?? 20;
    const filter = {
      ...(q.commandTypes ? { commandTypes: q.commandTypes } : {}),
      ...(q.status ? { statuses: q.status } : {}),
    };
    const filterKey = JSON.stringify([q.commandTypes ?? null, q.status ?? null]);
    const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (cursor && (cursor.sort !== sortField || cursor.order !== order || cursor.filter !== filterKey)) {
      throw new ValidationError('INVALID_CURSOR', 'cursor was made for another sort or filter');
    }
    const page = cursor ? cursor.page + 1 : (q.page ?? 0);
    const base = { tenantId: caller.tenantId, applicationName, ...filter };
    const [result, total] = await Promise.all([
      listApplicationPage(rt.sql, {
        ...base,
        sort: sortField,
        order,
        size,
        ...(cursor ? { after: cursor.after } : { offset: page * size }),
      }),
      cursor ? cursor.total : countApplication(rt.sql, base),
    ]);
    const nextCursor =
      result.hasMore && result.last
        ? encodeCursor({ v: 1, sort: sortField, order, filter: filterKey, page, total, after: result.last })
        : null;
    sendJson(res, 200, {
      content: result.rows.map(toDescriptor),
      page,
      size,
      totalElements: total,
      totalPages: Math.ceil(total / size),
      nextCursor,
    });
  },
};
