import { defineUnit } from '../../shared/host/units.js';
import { batchByEndpointsRoute, batchByFilterRoute } from './batch.js';
import { handleCipEvent } from './cip.js';
import { invokeRoute } from './invoke.js';

/**
 * command-submit: REST invoke (sync and async), batch invocations (Kaa 1.4)
 * and 12/CIP invocation requests. The batch routes come first: routes are
 * tried in order, and `/endpoints/commands/{type}/batch` (literal
 * `commands`) would otherwise match invoke's `/endpoints/{endpointId}/commands/{commandType}`
 * for an endpoint named "commands" and a type named "batch".
 */
export const commandSubmit = defineUnit({
  name: 'command-submit',
  routes: [batchByFilterRoute, batchByEndpointsRoute, invokeRoute],
  cloudEvent: handleCipEvent,
});
