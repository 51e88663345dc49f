export { sendProblem, sendJson, toProblem, type Problem } from './problem.js';
export { readBody, PayloadTooLargeError } from './body.js';
export { compileRoute, matchRoute, routePath, routeRequests } from './router.js';
export type { Route, RouteContext, HttpMethod, CompiledRoute, RouteMatch, HeaderSpec, ResponseSpec } from './router.js';
export { buildOpenApi } from './openapi.js';
