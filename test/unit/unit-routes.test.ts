import { describe, expect, it } from 'vitest';
import { UNITS } from '../../functions/index.js';
import { PARTIAL_ROUTE_SET_TARGETS } from '../../shared/config/index.js';
import { CLOUDEVENT_PATH, cloudEventPath, isStreamRoute, unitPart } from '../../shared/host/units.js';

// CEX_UNIT_ROUTES: the parts of a unit a Knative Service of its own serves
// (command-submit's CloudEvents, command-lookup's SSE streams). The process
// side, 404 for the rest, is in test/deploy/unit-routes.test.ts.

const unit = (name: string) => UNITS.find((u) => u.name === name)!;

describe('unitPart', () => {
  it('serves the whole unit for `all`', () => {
    for (const u of UNITS) expect(unitPart(u, 'all')).toBe(u);
  });

  it("keeps only command-submit's CloudEvents for `events`, on the path the whole unit takes them", () => {
    const submit = unit('command-submit');
    const part = unitPart(submit, 'events');
    expect(part.routes ?? []).toEqual([]);
    expect(part.internalRoutes ?? []).toEqual([]);
    expect(part.cloudEvent).toBe(submit.cloudEvent);
    expect(cloudEventPath(part)).toBe(CLOUDEVENT_PATH);
    expect(cloudEventPath(submit)).toBe(CLOUDEVENT_PATH);
  });

  it("keeps only command-lookup's two SSE routes for `streams`", () => {
    const part = unitPart(unit('command-lookup'), 'streams');
    expect(part.cloudEvent).toBeUndefined();
    expect(part.routes!.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v1/endpoints/{endpointId}/commands/{commandType}/{commandId}/events',
      'GET /api/v1/endpoints/{endpointId}/commands/events',
    ]);
  });

  it('refuses a part the unit does not have', () => {
    expect(() => unitPart(unit('history-listing'), 'streams')).toThrow('history-listing has no server-sent event routes');
    expect(() => unitPart(unit('command-lookup'), 'events')).toThrow('command-lookup takes no CloudEvents');
  });

  it('lets shared/config accept each part exactly for the units that have it next to other routes', () => {
    // `events` splits a unit with REST routes and CloudEvents; `streams` one with SSE routes.
    const withEventsAndRest = UNITS.filter((u) => u.cloudEvent && u.routes?.length).map((u) => u.name);
    const withStreams = UNITS.filter((u) => u.routes?.some(isStreamRoute)).map((u) => u.name);
    expect({ events: [...PARTIAL_ROUTE_SET_TARGETS.events], streams: [...PARTIAL_ROUTE_SET_TARGETS.streams] }).toEqual({
      events: withEventsAndRest,
      streams: withStreams,
    });
  });
});
