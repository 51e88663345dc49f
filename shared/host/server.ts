import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CexError, toCexError } from '../errors/index.js';
import type { LocalEventHandler } from '../bridge/local-events.js';
import { publishListOf } from '../bridge/contract.js';
import {
  allowHeader,
  buildOpenApi,
  compileRoute,
  matchRoute,
  readBody,
  routePath,
  runRoute,
  sendJson,
  sendMethodNotAllowed,
  sendProblem,
  toProblem,
  type CompiledRoute,
  type RouteMatch,
} from '../http/index.js';
import type { Runtime } from '../runtime/index.js';
import type { Services } from '../roots/services.js';
import { answerPreflight, applyCors, isPreflight } from './cors.js';
import { cloudEventPath, compileUnitRoutes, servesHttp, type UnitDefinition } from './units.js';
import { answerClientError } from './client-error.js';
import { assetsFor } from './assets.js';
import { parseHttpCloudEvent } from './cloudevents.js';
import { requireInternalCredential } from '../auth/internal.js';
import { noteHttpRoute, traceCloudEvent, traceHttpServer } from '../tracing/index.js';

// The host reads bodies itself (so limits and errors are ours): REST
// handlers enforce CEX_MAX_PAYLOAD_BYTES per route; this cap only keeps a
// hostile client from making the process buffer an unbounded body.
const HARD_BODY_CAP_EXTRA = 4 * 1024 * 1024;

export interface HostOptions {
  /** The units this process serves: one (Knative) or all (dev host). */
  units: UnitDefinition[];
  /** Dev host: CloudEvents for a unit arrive on /units/{name}/…; REST is routed by path. */
  devMode: boolean;
  version: string;
}

/** A request as the host sees it; under functions-framework (tests) the body may have been read already. */
type HostRequest = IncomingMessage & { body?: unknown; rawBody?: Buffer };

/** The request listener of a process: `(req, res)`, never throws (errors answer problem+json). */
export type HostHandler = (req: HostRequest, res: ServerResponse) => void;

/**
 * The one dispatch of a process: operations routes (/healthz, /readyz,
 * /metrics, /openapi.json) for every unit, static assets, then the route
 * matched once and its handler called with the services, or the unit's
 * CloudEvent handler with the event parsed once. The same handler serves a
 * unit's Knative Service (shared/roots/unit.ts, also registered with
 * functions-framework there) and every unit of the dev host.
 */
export function createHostHandler(services: Services, options: HostOptions): HostHandler {
  const served = new Map(options.units.filter(servesHttp).map((u) => [u.name, { unit: u, routes: compileUnitRoutes(u) }]));
  const routes: CompiledRoute<Services>[] = options.units.flatMap((u) => (u.routes ?? []).map(compileRoute));
  // Built on the first GET /openapi.json, not at start: converting every
  // route's zod schemas took 150-300 ms of a cold start on this (loaded) host.
  let openapi: Record<string, unknown> | undefined;
  const openapiDocument = () =>
    (openapi ??= buildOpenApi(
      options.units.flatMap((u) => u.routes ?? []),
      { title: 'CEX — Command Execution Extension', version: options.version },
      { awaitTimeout: services.config.maxAwaitTimeoutSeconds },
    ));
  const single = options.units.length === 1 ? options.units[0] : undefined;
  const bodyCap = services.config.maxPayloadBytes + HARD_BODY_CAP_EXTRA;

  async function serve(req: HostRequest, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      // Closed after the answer, like every malformed request (README, Operations).
      res.setHeader('connection', 'close');
      throw new CexError('MISSING_HOST', 'an HTTP/1.1 request needs a Host header');
    }
    const { pathname, query } = routePath(req.url);
    const operation = OPERATIONS.has(pathname);
    const internal = options.devMode && pathname.startsWith('/units/');
    let unitName = single?.name ?? 'host';
    // Set before anything is answered: 'finish' can fire before an await here resumes.
    let routeLabel = operation ? pathname : internal ? '/units' : 'unmatched';
    res.on('finish', () => {
      if (routeLabel !== 'unmatched') noteHttpRoute(res, routeLabel);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      services.metrics.httpDuration.observe(
        { unit: unitName, route: routeLabel, method: req.method ?? '', status: String(res.statusCode) },
        seconds,
      );
    });

    if (!internal) {
      applyCors(services.config, req, res);
      const methods = operation ? ['GET'] : methodsAt(pathname);
      if (req.method === 'OPTIONS') {
        if (methods.length === 0) throw new CexError('ROUTE_NOT_FOUND', `no route for ${pathname}`);
        if (isPreflight(req)) return answerPreflight(services.config, req, res, allowHeader(methods));
        res.writeHead(204, { allow: allowHeader(methods) }).end();
        return;
      }
      const get = req.method === 'GET' || req.method === 'HEAD';
      if (
        (operation && !get) ||
        (!operation && methods.length > 0 && !methods.includes(req.method === 'HEAD' ? 'GET' : (req.method ?? '')))
      ) {
        return sendMethodNotAllowed(res, req.method, allowHeader(methods));
      }
    }
    if (operation) {
      await serveOperations(services, pathname, res, openapiDocument);
      return;
    }
    const assets = assetsFor(options.units, req, pathname);
    if (assets?.assets) {
      unitName = assets.name;
      routeLabel = assets.assets.prefix;
      return assets.assets.serve(services, req, res, pathname);
    }

    // Which unit, and (REST on the dev host) which route: matched once, here.
    let unitPath = pathname;
    let matched: RouteMatch<Services> | undefined;
    if (internal) {
      const [, , name, ...rest] = pathname.split('/');
      unitName = name ?? '';
      unitPath = '/' + rest.join('/');
      req.url = unitPath + (req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '');
    } else if (!single) {
      const match = matchRoute(routes, req.method ?? 'GET', pathname);
      if (!match || !('route' in match)) throw new CexError('ROUTE_NOT_FOUND', `no route for ${pathname}`);
      matched = match;
      unitName = match.route.unit;
      routeLabel = match.route.path;
    }
    const target = served.get(unitName);
    if (!target) {
      if (internal) throw new CexError('UNIT_NOT_FOUND', `no unit named ${unitName} here`);
      // A unit with no HTTP routes of its own (the console): only assets and operations.
      throw new CexError('ROUTE_NOT_FOUND', `no route for ${pathname}`);
    }
    const { unit } = target;
    const eventPath = cloudEventPath(unit);
    const isEvent = !matched && !!unit.cloudEvent && req.method === 'POST' && (eventPath === undefined || unitPath === eventPath);
    if (!matched && !isEvent) {
      const match = matchRoute(target.routes, req.method ?? 'GET', unitPath);
      if (!match) {
        if (!target.routes.length && eventPath === undefined) {
          sendProblem(res, new CexError('METHOD_NOT_ALLOWED', `${unit.name} takes CloudEvents by POST only`), { allow: 'POST' });
          return;
        }
        throw new CexError('ROUTE_NOT_FOUND', `no route for ${unitPath}`);
      }
      if ('allowed' in match) return sendMethodNotAllowed(res, req.method, allowHeader(match.allowed));
      matched = match;
      if (!internal) routeLabel = match.route.path;
    }
    if (services.shuttingDown) {
      res.setHeader('connection', 'close');
      throw new CexError('SHUTTING_DOWN', 'this instance is shutting down; retry');
    }
    const body = await requestBody(req, bodyCap);
    if (matched) return runRoute(matched, req, res, query, body, services);
    // The span's route; the metrics keep their label.
    noteHttpRoute(res, eventPath ?? unitPath);
    return serveCloudEvent(services, unit, req, res, body);
  }

  /** Methods of the public routes whose path matches (none: no such route). */
  function methodsAt(pathname: string): string[] {
    return [...new Set(routes.filter((c) => c.regex.test(pathname)).map((c) => c.route.method))];
  }

  return (req, res) =>
    traceHttpServer(req, res, () => {
      serve(req, res).catch((err) => {
        if (sendProblem(res, err) >= 500) services.log.error({ err }, 'request failed');
      });
    });
}

/** The HTTP server of a process, answering with `handle` (createHostHandler's dispatch). */
export function createHostServer(services: Services, handle: HostHandler): Server {
  // requestTimeout bounds receiving the request (headers and body), not the
  // sync wait that follows it: 60 s is ample for a 256 KiB body on any link,
  // and a client trickling its body cannot hold a socket for ever. Node checks
  // both every connectionsCheckingInterval (30 s by default); a shorter
  // headers timeout (tests) checks as often as it.
  const { headersTimeoutMs, requestTimeoutMs } = services.config.http;
  // Node's own Host check answers a bare 400; the handler answers it as problem+json.
  const server = http.createServer({ requireHostHeader: false, connectionsCheckingInterval: Math.min(30_000, headersTimeoutMs) }, handle);
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = headersTimeoutMs;
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 65_000;
  return server;
}

/** The operations routes every unit answers (GET and HEAD). */
const OPERATIONS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

async function serveOperations(rt: Runtime, pathname: string, res: ServerResponse, openapi: () => unknown): Promise<void> {
  switch (pathname) {
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz': {
      const [{ ready, checks }, dependencies] = await Promise.all([rt.readiness(), rt.dependencies()]);
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks, dependencies });
    }
    case '/metrics': {
      await rt.dependencies();
      const text = await rt.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': rt.metrics.registry.contentType });
      res.end(text);
      return;
    }
    default:
      return sendJson(res, 200, openapi());
  }
}

/**
 * The body of a request: read here (with the cap), or, when functions-framework
 * served the request (its body parsers ran first), the bytes it kept.
 */
async function requestBody(req: HostRequest, cap: number): Promise<Buffer> {
  if (Buffer.isBuffer(req.rawBody)) {
    if (req.rawBody.length > cap) throw new CexError('PAYLOAD_TOO_LARGE', `the request body exceeds ${cap} bytes`);
    return req.rawBody;
  }
  return readBody(req, cap);
}

/**
 * A CloudEvent for `unit`, parsed once from the body (binary or structured
 * mode), behind the internal credential; its answer as JSON (200) or 204.
 * A bad event answers 400 problem+json and the bridge drops it.
 */
async function serveCloudEvent(
  services: Services,
  unit: UnitDefinition,
  req: HostRequest,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  requireInternalCredential(services, unit.name, req.headers, req.socket.remoteAddress);
  let data: unknown = body;
  if (String(req.headers['content-type'] ?? '').startsWith('application/cloudevents+json')) {
    try {
      data = JSON.parse(body.toString('utf8'));
    } catch {
      throw new CexError('INVALID_CLOUDEVENT', 'structured CloudEvent body is not valid JSON');
    }
  }
  const event = parseHttpCloudEvent(req.headers, data);
  const answer = await traceCloudEvent(event, () => unit.cloudEvent!(event, services));
  if (answer === undefined || answer === null) res.writeHead(204).end();
  else sendJson(res, 200, answer);
}

/**
 * `unit`'s CloudEvent handler as the bridge of this same process calls it
 * (LocalEventDesk): the event parsed from the same binary-mode headers and
 * data the HTTP forward carries, the same answer, and the status its HTTP
 * answer would have had (503 while shutting down, a CexError's status,
 * 500 for anything else). No credential check: nothing outside this
 * process can reach it.
 */
export function localEventHandler(services: Services, unit: UnitDefinition): LocalEventHandler {
  return async (headers, body) => {
    if (services.shuttingDown) return { status: 503, error: 'this instance is shutting down; retry' };
    try {
      const event = parseHttpCloudEvent(headers, Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      const answer = await traceCloudEvent(event, () => unit.cloudEvent!(event, services));
      if (answer === undefined || answer === null) return { status: 204 };
      const publish = publishListOf(answer);
      return publish ? { status: 200, publish } : { status: 200, error: 'the unit answered something that is not a FunctionAnswer' };
    } catch (err) {
      const cex = toCexError(err);
      if (cex.status >= 500) services.log.error({ err, unit: unit.name }, 'event failed');
      return { status: cex.status, error: JSON.stringify(toProblem(cex)) };
    }
  };
}
