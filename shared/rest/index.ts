/** The REST edge: parameter validation, payload parsing, callers, Location. */
export { param, parseQuery, parsePath, intString, csv } from './query.js';
export * from './params.js';
export { parseCommandPayload, mediaType, UnsupportedMediaTypeError } from './body.js';
export { authorize, SCOPES, DEFAULT_TENANT, type Caller, type Scope } from './caller.js';
export { commandLocation, forwardedPrefix } from './location.js';
export {
  descriptorSchema,
  endpointHistorySchema,
  applicationPageSchema,
  batchAcceptedSchema,
  batchTaskSchema,
  batchTaskPageSchema,
} from './schemas.js';
