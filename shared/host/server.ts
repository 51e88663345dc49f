import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { CexError } from '../errors/index.js';
import {
  allowHeader,
  buildOpenApi,
  compileRoute,
  matchRoute,
  readBody,
  routePath,
  sendJson,
  sendMethodNotAllowed,
  sendProblem,
  type CompiledRoute,
} from '../http/index.js';
import { answerPreflight, applyCors, isPreflight } from './cors.js';
import { withRuntime, type Runtime } from '../runtime/index.js';
import type { UnitDefinition } from './units.js';
import { answerClientError } from './client-error.js';
import { assetsFor } from './assets.js';

// The host reads bodies itself (so limits and errors are ours, not express's):
// REST handlers enforce CEX_MAX_PAYLOAD_BYTES per route; this cap only keeps a
// hostile client from making the process buffer an unbounded body.
const HARD_BODY_CAP_EXTRA = 4 * 1024 * 1024;

export interface HostOptions {
  /** The units this process serves: one (Knative) or all (dev host). */
  units: UnitDefinition[];
  /** Dev host: CloudEvents for a unit arrive on /units/{name}/…; REST is routed by path. */
  devMode: boolean;
  version: string;
}

/**
 * The HTTP server of a process: operations routes (/healthz, /readyz,
 * /metrics, /openapi.json) for every unit, then each request handed to the
 * functions-framework server of the unit it belongs to.
 */
export function createHostServer(rt: Runtime, options: HostOptions): Server {
  const frameworks = new Map<string, Server>();
  for (const unit of options.units) {
    if (unit.routes || unit.internalRoutes || unit.cloudEvent) frameworks.set(unit.name, getTestServer(unit.name));
  }
  const routes: CompiledRoute[] = options.units.flatMap((u) => (u.routes ?? []).map(compileRoute));
  // Built on the first GET /openapi.json, not at start: converting every
  // route's zod schemas took 150-300 ms of a cold start on this (loaded) host.
  let openapi: Record<string, unknown> | undefined;
  const openapiDocument = () =>
    (openapi ??= buildOpenApi(
      options.units.flatMap((u) => u.routes ?? []),
      { title: 'CEX — Command Execution Extension', version: options.version },
      { awaitTimeout: rt.config.maxAwaitTimeoutSeconds },
    ));
  const single = options.units.length === 1 ? options.units[0] : undefined;
  const bodyCap = rt.config.maxPayloadBytes + HARD_BODY_CAP_EXTRA;

  async function serve(req: IncomingMessage & { body?: unknown; rawBody?: Buffer }, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      // Closed after the answer, like every malformed request (README, Operations).
      res.setHeader('connection', 'close');
      throw new CexError('MISSING_HOST', 'an HTTP/1.1 request needs a Host header');
    }
    const { pathname } = routePath(req.url);
    const operation = OPERATIONS.has(pathname);
    const internal = options.devMode && pathname.startsWith('/units/');
    let unitName = single?.name ?? 'host';
    // Set before anything is answered: 'finish' can fire before an await here resumes.
    let routeLabel = operation ? pathname : internal ? '/units' : 'unmatched';
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rt.metrics.httpDuration.observe({ unit: unitName, route: routeLabel, method: req.method ?? '', status: String(res.statusCode) }, seconds);
    });

    if (!internal) {
      applyCors(rt.config, req, res);
      const methods = operation ? ['GET'] : methodsAt(pathname);
      if (req.method === 'OPTIONS') {
        if (methods.length === 0) throw new CexError('ROUTE_NOT_FOUND', `no route for ${pathname}`);
        if (isPreflight(req)) return answerPreflight(rt.config, req, res, allowHeader(methods));
        res.writeHead(204, { allow: allowHeader(methods) }).end();
        return;
      }
      const get = req.method === 'GET' || req.method === 'HEAD';
      if ((operation && !get) || (!operation && methods.length > 0 && !methods.includes(req.method === 'HEAD' ? 'GET' : req.method ?? ''))) {
        return sendMethodNotAllowed(res, req.method, allowHeader(methods));
      }
    }
    if (operation) {
      await serveOperations(rt, pathname, res, openapiDocument);
      return;
    }
    const assets = assetsFor(options.units, req, pathname);
    if (assets?.assets) {
      unitName = assets.name;
      routeLabel = assets.assets.prefix;
      return assets.assets.serve(rt, req, res, pathname);
    }
    if (internal) {
      const [, , name, ...rest] = pathname.split('/');
      unitName = name ?? '';
      req.url = '/' + rest.join('/') + (req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '');
    } else {
      const match = matchRoute(routes, req.method ?? 'GET', pathname);
      if (match && 'route' in match) {
        unitName = match.route.unit;
        routeLabel = match.route.path;
      } else if (!single || !frameworks.has(single.name)) {
        throw new CexError('ROUTE_NOT_FOUND', `no route for ${pathname}`);
      }
    }
    const framework = frameworks.get(unitName);
    if (!framework) throw new CexError('UNIT_NOT_FOUND', `no unit named ${unitName} here`);
    if (rt.shuttingDown) {
      res.setHeader('connection', 'close');
      throw new CexError('SHUTTING_DOWN', 'this instance is shutting down; retry');
    }
    const body = await readBody(req, bodyCap);
    req.rawBody = body;
    req.body = body;
    if (String(req.headers['content-type'] ?? '').startsWith('application/cloudevents+json')) {
      try {
        req.body = JSON.parse(body.toString('utf8'));
      } catch {
        throw new CexError('INVALID_CLOUDEVENT', 'structured CloudEvent body is not valid JSON');
      }
    }
    // The body stream is consumed, so the framework's body parsers skip it and
    // the handler sees our Buffer (or the parsed structured event).
    withRuntime(rt, () => framework.emit('request', req, res));
  }

  /** Methods of the public routes whose path matches (none: no such route). */
  function methodsAt(pathname: string): string[] {
    return [...new Set(routes.filter((c) => c.regex.test(pathname)).map((c) => c.route.method))];
  }

  // requestTimeout bounds receiving the request (headers and body), not the
  // sync wait that follows it: 60 s is ample for a 256 KiB body on any link,
  // and a client trickling its body cannot hold a socket for ever. Node checks
  // both every connectionsCheckingInterval (30 s by default); a shorter
  // headers timeout (tests) checks as often as it.
  const { headersTimeoutMs, requestTimeoutMs } = rt.config.http;
  // Node's own Host check answers a bare 400; serve() answers it as problem+json.
  const server = http.createServer(
    { requireHostHeader: false, connectionsCheckingInterval: Math.min(30_000, headersTimeoutMs) },
    (req, res) => {
      serve(req, res).catch((err) => sendProblem(res, err));
    },
  );
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
