import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent, HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import { routeRequests, sendProblem, type Route } from '../http/index.js';
import { parseHttpCloudEvent } from './cloudevents.js';
import type { Runtime } from '../runtime/index.js';

/**
 * A deployable unit (DESIGN.md table): an HTTP function with REST routes, a
 * CloudEvent function fed by the bridge, or a long-lived process (the bridge).
 * Each is registered with functions-framework under its name, so the image
 * picks it with FUNCTION_TARGET; the dev host serves all of them at once.
 */
export interface UnitDefinition {
  name: string;
  /** REST routes served by an HTTP unit. */
  routes?: Route[];
  /**
   * CloudEvents handled by the unit (from the bridge). An HTTP unit that also
   * takes CloudEvents (command-submit) receives them on POST /cloudevents.
   */
  cloudEvent?: (event: CloudEvent<unknown>) => Promise<unknown>;
  /** Background work this unit runs while it is up (bridge loops, sweepers). */
  start?: (rt: Runtime) => Promise<() => Promise<void>>;
}

const registry = new Map<string, UnitDefinition>();

/** Path on which an HTTP unit accepts CloudEvents from the bridge. */
export const CLOUDEVENT_PATH = '/cloudevents';

export function defineUnit(unit: UnitDefinition): UnitDefinition {
  if (registry.has(unit.name)) return registry.get(unit.name)!;
  registry.set(unit.name, unit);
  if (unit.routes) {
    const rest = routeRequests(unit.routes);
    const handler: HttpFunction = (req, res) => {
      if (unit.cloudEvent && req.path === CLOUDEVENT_PATH && req.method === 'POST') {
        return void handleCloudEventOverHttp(unit.cloudEvent, req, res);
      }
      return void rest(req, res);
    };
    functions.http(unit.name, handler);
  } else if (unit.cloudEvent) {
    const onEvent = unit.cloudEvent;
    functions.cloudEvent(unit.name, (event: CloudEvent<unknown>) => onEvent(event));
  }
  return unit;
}

export function getUnit(name: string): UnitDefinition | undefined {
  return registry.get(name);
}

export function allUnits(): UnitDefinition[] {
  return [...registry.values()];
}

async function handleCloudEventOverHttp(
  onEvent: (event: CloudEvent<unknown>) => Promise<unknown>,
  req: Request,
  res: Response,
): Promise<void> {
  try {
    const event = parseHttpCloudEvent(req.headers, req.body);
    const answer = await onEvent(event);
    if (answer === undefined || answer === null) res.status(204).end();
    else res.status(200).json(answer);
  } catch (err) {
    sendProblem(res, err);
  }
}
