import type { CloudEvent } from '@google-cloud/functions-framework';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import { ValidationError } from '../../shared/errors/index.js';
import { defineUnit } from '../../shared/host/units.js';
import {
  decodeBroadcastConfigurationUpdateEvent,
  decodeServiceSpecificConfigurationUpdateEvent,
  decodeTenantUnregisteredEvent,
  decodeTenantUpdatedEvent,
  isExpired,
} from '../../shared/protocol/index.js';
import { runtime, type Runtime } from '../../shared/runtime/index.js';
import { tenancyFor } from '../../shared/tenancy/index.js';
import { coalesced } from './coalesce.js';

const refreshers = new WeakMap<Runtime, () => Promise<void>>();

/** One coalescing Tekton refresher per runtime: bursts of SCMP events cost one or two fetches. */
function refreshTekton(rt: Runtime): Promise<void> {
  let refresh = refreshers.get(rt);
  if (!refresh) refreshers.set(rt, (refresh = coalesced(() => tenancyFor(rt).refreshTektonFromSource('scmp'))));
  return refresh();
}

function dataOf(event: CloudEvent<unknown>): Uint8Array {
  const data = event.data;
  if (data instanceof Uint8Array) return data;
  const base64 = (event as { data_base64?: unknown }).data_base64;
  if (typeof base64 === 'string') return Buffer.from(base64, 'base64');
  throw new ValidationError('INVALID_CLOUDEVENT', 'the event carries no Avro bytes');
}

/**
 * 17/SCMP: re-fetch the Tekton configuration (whatever the event's scope:
 * Tekton's API returns the whole document, and scopes only narrow what
 * changed). 21/TLE: `updated` → every instance re-reads tenants;
 * `unregistered` → the tenant's tokens are refused on every instance.
 * Nothing is answered on NATS (SCMP and TLE have no acknowledgement).
 */
async function handleConfigEvent(event: CloudEvent<unknown>): Promise<undefined> {
  const rt = runtime();
  const bytes = dataOf(event);
  const log = rt.log.child({ eventType: event.type });
  switch (event.type) {
    case EVENT_TYPES.scmpBroadcast: {
      const msg = decodeBroadcastConfigurationUpdateEvent(bytes);
      log.info({ correlationId: msg.correlationId, tenantId: msg.tenantID, appName: msg.appName, appVersionName: msg.appVerName }, 'SCMP configuration update');
      if (rt.config.tekton.enabled) await refreshTekton(rt);
      return undefined;
    }
    case EVENT_TYPES.scmpTargeted: {
      const msg = decodeServiceSpecificConfigurationUpdateEvent(bytes);
      log.info({ correlationId: msg.correlationId, tenantId: msg.tenantID, appName: msg.appName, appVersionName: msg.appVerName }, 'SCMP configuration update');
      if (rt.config.tekton.enabled) await refreshTekton(rt);
      return undefined;
    }
    case EVENT_TYPES.tleUpdated: {
      const msg = decodeTenantUpdatedEvent(bytes);
      if (isExpired(msg, Date.now())) return void log.warn({ correlationId: msg.correlationId }, 'expired TLE event dropped');
      log.info({ correlationId: msg.correlationId, tenantId: msg.tenantId }, 'tenant updated');
      await tenancyFor(rt).tenantUpdated(msg.tenantId);
      return undefined;
    }
    case EVENT_TYPES.tleUnregistered: {
      const msg = decodeTenantUnregisteredEvent(bytes);
      if (isExpired(msg, Date.now())) return void log.warn({ correlationId: msg.correlationId }, 'expired TLE event dropped');
      log.warn({ correlationId: msg.correlationId, tenantId: msg.tenantId }, 'tenant unregistered: its tokens are refused from now on');
      await tenancyFor(rt).unregisterTenant(msg.tenantId);
      return undefined;
    }
    default:
      throw new ValidationError('UNSUPPORTED_EVENT_TYPE', `scmp-config-reload does not handle ${event.type}`);
  }
}

/** scmp-config-reload: Tekton configuration on 17/SCMP, tenant data on 21/TLE. */
export const scmpConfigReload = defineUnit({ name: 'scmp-config-reload', cloudEvent: handleConfigEvent });
