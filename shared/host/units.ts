import type { IncomingMessage, ServerResponse } from 'node:http';
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent, HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import { requireInternalCredential } from '../auth/internal.js';
import { routeRequests, sendProblem, type Route } from '../http/index.js';
import { parseHttpCloudEvent } from './cloudevents.js';
import { CexError } from '../errors/index.js';
import { runtime, type Runtime } from '../runtime/index.js';

/**
 * A deployable unit (docs/architecture.md, Units): an HTTP function with REST routes, a
 * CloudEvent function fed by the bridge, or a long-lived process (the bridge).
 * Each is registered with functions-framework under its name, so the image
 * picks it with FUNCTION_TARGET; the dev host serves all of them at once.
 */
export interface UnitDefinition {
  name: string;
  /** REST routes served by an HTTP unit. */
  routes?: Route[];
  /**
   * Routes for other CEX units only (the bridge's NATS request endpoint):
   * served like `routes`, but left out of /openapi.json and of the dev
   * host's path routing (reach them under /units/{name}/ there), and
   * refused (401) without the internal credential.
   */
  internalRoutes?: Route[];
  /**
   * CloudEvents handled by the unit (from the bridge), binary or structured
   * mode, on POST to any path; an HTTP unit that also takes CloudEvents
   * (command-submit) receives them on POST /cloudevents. The answer is sent
   * as JSON (200), undefined as 204; a thrown CexError as its problem+json.
   * An event without the internal credential is refused (401) unread.
   */
  cloudEvent?: (event: CloudEvent<unknown>) => Promise<unknown>;
  /**
   * Files the host serves itself under `prefix` (GET and HEAD), before any
   * REST routing: the operator console's static assets (shared/host/assets.ts).
   */
  assets?: { prefix: string; serve(rt: Runtime, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> };
  /** Background work this unit runs while it is up (bridge loops, sweepers). */
  start?: (rt: Runtime) => Promise<() => Promise<void>>;
}

const registry = new Map<string, UnitDefinition>();

/** Path on which an HTTP unit accepts CloudEvents from the bridge. */
export const CLOUDEVENT_PATH = '/cloudevents';

export function defineUnit(unit: UnitDefinition): UnitDefinition {
  if (registry.has(unit.name)) return registry.get(unit.name)!;
  registry.set(unit.name, unit);
  // Every unit registers as an HTTP function: CloudEvents are parsed here
  // (binary and structured mode), so a bad event answers 400 problem+json and
  // the bridge drops it, where the framework's CloudEvent signature would
  // answer 500 for everything and make the bridge retry garbage.
  const internal = (unit.internalRoutes ?? []).map((route) => withInternalCredential(unit.name, route));
  const served = [...(unit.routes ?? []), ...internal];
  const rest = served.length > 0 ? routeRequests(served, logServerError) : undefined;
  const handler: HttpFunction = (req, res) => {
    const isEvent = req.method === 'POST' && (rest ? req.path === CLOUDEVENT_PATH : true);
    if (unit.cloudEvent && isEvent) return void handleCloudEventOverHttp(unit.name, unit.cloudEvent, req, res);
    if (rest) return void rest(req, res);
    sendProblem(res, new CexError('METHOD_NOT_ALLOWED', `${unit.name} takes CloudEvents by POST only`), { allow: 'POST' });
  };
  if (rest || unit.cloudEvent) functions.http(unit.name, handler);
  return unit;
}

export function getUnit(name: string): UnitDefinition | undefined {
  return registry.get(name);
}

export function allUnits(): UnitDefinition[] {
  return [...registry.values()];
}

/** `route` behind the internal credential: nothing of the request is looked at before it is checked. */
function withInternalCredential(unitName: string, route: Route): Route {
  return {
    ...route,
    async handle(ctx) {
      requireInternalCredential(runtime(), unitName, ctx.req.headers, ctx.req.socket.remoteAddress);
      return route.handle(ctx);
    },
  };
}

async function handleCloudEventOverHttp(
  unitName: string,
  onEvent: (event: CloudEvent<unknown>) => Promise<unknown>,
  req: Request,
  res: Response,
): Promise<void> {
  try {
    requireInternalCredential(runtime(), unitName, req.headers, req.socket.remoteAddress);
    const event = parseHttpCloudEvent(req.headers, req.body);
    const answer = await onEvent(event);
    if (answer === undefined || answer === null) res.status(204).end();
    else res.status(200).json(answer);
  } catch (err) {
    if (sendProblem(res, err) >= 500) logServerError(err);
  }
}

function logServerError(err: unknown): void {
  runtime().log.error({ err }, 'request failed');
}
