import type { CloudEvent } from '@google-cloud/functions-framework';
import { EVENT_TYPES, type FunctionAnswer } from '../../shared/bridge/contract.js';
import { handleClientDataEvent, handleConnectivityEvent, eventSummary } from '../../shared/endpoint/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import { defineUnit } from '../../shared/host/units.js';
import type { Services } from '../../shared/roots/services.js';

/**
 * esp-inbound: 4/ESP ClientData (11/CEP polls and results) and 9/ELCE
 * connectivity events, forwarded by the bridge as CloudEvents.
 *
 * Answers, per the bridge contract (shared/bridge/contract.ts):
 * - 200 with the ExtensionData to publish (every live ClientData);
 * - 204, nothing to publish: ELCE events, and expired messages (3/ISM);
 * - 400 problem: a bad event (bytes that do not decode, no data, an event
 *   type this unit does not take); the bridge logs and drops it, since a
 *   retry would fail the same way and no requestId is known to answer;
 * - 503 problem when the database fails: the bridge retries, and no KP
 *   status is ever made up without the database.
 */
export async function handleEspEvent(event: CloudEvent<unknown>, rt: Services): Promise<FunctionAnswer | undefined> {
  switch (event.type) {
    case EVENT_TYPES.espClientData:
      return handleClientDataEvent(rt, event);
    case EVENT_TYPES.elceConnected:
      return handleConnectivityEvent(rt, event, true);
    case EVENT_TYPES.elceDisconnected:
      return handleConnectivityEvent(rt, event, false);
    default:
      rt.log.info(eventSummary(event), 'esp-inbound got an event type it does not take');
      throw new ValidationError('UNSUPPORTED_EVENT_TYPE', `esp-inbound does not take CloudEvents of type ${JSON.stringify(event.type)}`);
  }
}

export const espInbound = defineUnit({ name: 'esp-inbound', cloudEvent: handleEspEvent });
