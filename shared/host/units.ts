import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { requireInternalCredential } from '../auth/internal.js';
import type { UnitRouteSet } from '../config/index.js';
import { compileRoute, type CompiledRoute, type Route } from '../http/index.js';
import type { Services } from '../roots/services.js';

/** A route of a unit: its handler gets the request and the services of its process. */
export type UnitRoute = Route<Services>;

/**
 * A deployable unit (docs/architecture.md, Units): an HTTP function with REST routes, a
 * CloudEvent function fed by the bridge, or a long-lived process (the bridge).
 * The image serves one with FUNCTION_TARGET (shared/roots/unit.ts, where it
 * is also registered with functions-framework); the dev host serves all of
 * them at once (shared/roots/dev-host.ts). Both dispatch through
 * shared/host/server.ts, so one handler serves both.
 */
export interface UnitDefinition {
  name: string;
  /** REST routes served by an HTTP unit. */
  routes?: UnitRoute[];
  /**
   * Routes for other CEX units only (the bridge's NATS request endpoint):
   * served like `routes`, but left out of /openapi.json and of the dev
   * host's path routing (reach them under /units/{name}/ there), and
   * refused (401) without the internal credential.
   */
  internalRoutes?: UnitRoute[];
  /**
   * CloudEvents handled by the unit (from the bridge), binary or structured
   * mode, on POST to any path; an HTTP unit that also takes events
   * (command-submit) receives them on POST /cloudevents. The answer is sent
   * as JSON (200), undefined as 204; a thrown CexError as its problem+json.
   * An event without the internal credential is refused (401) unread.
   */
  cloudEvent?: (event: CloudEvent<unknown>, services: Services) => Promise<unknown>;
  /**
   * Where the unit takes its CloudEvents; default cloudEventPath() (any path
   * for a unit without REST routes, CLOUDEVENT_PATH for one with). Set by
   * unitPart() on the events-only part, which keeps the path of the whole unit.
   */
  cloudEventPath?: string;
  /**
   * Files the host serves itself under `prefix` (GET and HEAD), before any
   * REST routing: the operator console's static assets (shared/host/assets.ts).
   */
  assets?: { prefix: string; serve(services: Services, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> };
  /** Background work this unit runs while it is up (the bridge); returns its stop. */
  start?: (services: Services) => Promise<() => Promise<void>>;
}

/** Path on which an HTTP unit accepts CloudEvents from the bridge. */
export const CLOUDEVENT_PATH = '/cloudevents';

/** Where `unit` takes CloudEvents: undefined for any path (a unit without REST routes of its own). */
export function cloudEventPath(unit: UnitDefinition): string | undefined {
  return unit.cloudEventPath ?? (unit.routes?.length ? CLOUDEVENT_PATH : undefined);
}

/** Whether a route answers with a server-sent event stream (its 200 is text/event-stream). */
export function isStreamRoute(route: UnitRoute): boolean {
  return route.responses?.[200]?.contentType === 'text/event-stream';
}

/**
 * The part of `unit` a process serves with CEX_UNIT_ROUTES=`set`: all of it;
 * only its CloudEvents (on the path the whole unit takes them, so the
 * bridge's URL keeps its path); or only its SSE routes. Assets and
 * background work belong to the whole unit. Throws when the part is empty
 * (shared/config only lets the sets through for targets that have one).
 */
export function unitPart(unit: UnitDefinition, set: UnitRouteSet): UnitDefinition {
  if (set === 'all') return unit;
  if (set === 'events') {
    if (!unit.cloudEvent) throw new Error(`${unit.name} takes no CloudEvents: CEX_UNIT_ROUTES=events would serve nothing`);
    return { name: unit.name, cloudEvent: unit.cloudEvent, cloudEventPath: cloudEventPath(unit) };
  }
  const routes = (unit.routes ?? []).filter(isStreamRoute);
  if (routes.length === 0) throw new Error(`${unit.name} has no server-sent event routes: CEX_UNIT_ROUTES=streams would serve nothing`);
  return { name: unit.name, routes };
}

/** Declares a unit (typed); the composition roots serve it. */
export function defineUnit(unit: UnitDefinition): UnitDefinition {
  return unit;
}

/** Whether the unit answers HTTP requests of its own (beyond assets and operations). */
export function servesHttp(unit: UnitDefinition): boolean {
  return !!(unit.routes?.length || unit.internalRoutes?.length || unit.cloudEvent);
}

/** The unit's routes as its own host matches them: REST first, then the internal ones behind the credential. */
export function compileUnitRoutes(unit: UnitDefinition): CompiledRoute<Services>[] {
  const internal = (unit.internalRoutes ?? []).map((route) => withInternalCredential(unit.name, route));
  return [...(unit.routes ?? []), ...internal].map(compileRoute);
}

/** `route` behind the internal credential: nothing of the request is looked at before it is checked. */
function withInternalCredential(unitName: string, route: UnitRoute): UnitRoute {
  return {
    ...route,
    async handle(ctx, services) {
      requireInternalCredential(services, unitName, ctx.req.headers, ctx.req.socket.remoteAddress);
      return route.handle(ctx, services);
    },
  };
}
