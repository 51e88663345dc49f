import { z } from 'zod';
import { COMMAND_STATUSES, COMMAND_TYPE_PATTERN, ENDPOINT_ID_PATTERN, MAX_COMMAND_ID } from '../domain/index.js';
import { csv, param } from './query.js';

/** Path and query parameter schemas shared by the REST routes (docs/rest-api.md). */

export const endpointIdSchema = z.string().regex(ENDPOINT_ID_PATTERN, 'must match ^[A-Za-z0-9._~-]{1,128}$');
export const commandTypeSchema = z.string().regex(COMMAND_TYPE_PATTERN, 'must match ^[A-Za-z0-9_-]{1,128}$');

export const endpointIdParam = param(endpointIdSchema, 'INVALID_ENDPOINT_ID', 'Endpoint id');
export const commandTypeParam = param(commandTypeSchema, 'INVALID_COMMAND_TYPE', 'Command type');
export const commandIdParam = param(
  z.string().regex(/^\d{1,10}$/, 'must be a positive integer').transform(Number).pipe(z.number().int().min(1).max(MAX_COMMAND_ID)),
  'INVALID_COMMAND_ID',
  'Command id, a positive 32-bit integer',
);

export const commandPath = z.object({ endpointId: endpointIdParam, commandType: commandTypeParam });
export const oneCommandPath = commandPath.extend({ commandId: commandIdParam });

export const statusList = param(
  csv(z.enum(COMMAND_STATUSES), COMMAND_STATUSES.length).optional(),
  'INVALID_STATUS',
  'Comma-separated statuses: PENDING, EXECUTED, EXPIRED',
);
export const commandTypeList = param(
  csv(commandTypeSchema, 100).optional(),
  'INVALID_COMMAND_TYPES',
  'Comma-separated command types',
);


