import * as z from 'zod';
import { COMMAND_STATUSES, COMMAND_TYPE_PATTERN, ENDPOINT_ID_PATTERN, MAX_COMMAND_ID } from '../domain/index.js';
import { csv, intString, param } from './query.js';

/** Path and query parameter schemas shared by the REST routes (docs/rest-api.md). */

export const endpointIdSchema = z.string().regex(ENDPOINT_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ ~ -');
export const commandTypeSchema = z.string().regex(COMMAND_TYPE_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 _ -');

export const endpointIdParam = param(endpointIdSchema, 'INVALID_ENDPOINT_ID', 'Endpoint id');
export const commandTypeParam = param(commandTypeSchema, 'INVALID_COMMAND_TYPE', 'Command type');
export const commandIdParam = param(intString(1, MAX_COMMAND_ID), 'INVALID_COMMAND_ID', 'Command id, a positive 32-bit integer');

export const commandPath = z.object({ endpointId: endpointIdParam, commandType: commandTypeParam });
export const oneCommandPath = commandPath.extend({ commandId: commandIdParam });

export const statusList = param(
  csv(z.enum(COMMAND_STATUSES), COMMAND_STATUSES.length).optional(),
  'INVALID_STATUS',
  'Comma-separated statuses: PENDING, EXECUTED, EXPIRED',
);
export const commandTypeList = param(csv(commandTypeSchema, 100).optional(), 'INVALID_COMMAND_TYPES', 'Comma-separated command types');
