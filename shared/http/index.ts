export { sendProblem, sendJson, toProblem, type Problem } from './problem.js';
export { readBody, PayloadTooLargeError } from './body.js';
export { allowHeader, assertKnownQuery, compileRoute, matchRoute, routePath, runRoute, sendMethodNotAllowed } from './router.js';
export type { Route, RouteContext, HttpMethod, CompiledRoute, RouteMatch, HeaderSpec, ResponseSpec } from './router.js';
export { buildOpenApi } from './openapi.js';
