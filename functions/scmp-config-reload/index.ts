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
import type { Services } from '../../shared/roots/services.js';

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
async function handleConfigEvent(event: CloudEvent<unknown>, rt: Services): Promise<undefined> {
  const bytes = dataOf(event);
  const log = rt.log.child({ eventType: event.type });
  switch (event.type) {
    case EVENT_TYPES.scmpBroadcast: {
      const msg = decodeBroadcastConfigurationUpdateEvent(bytes);
      log.info(
        { correlationId: msg.correlationId, tenantId: msg.tenantID, appName: msg.appName, appVersionName: msg.appVerName },
        'SCMP configuration update',
      );
      if (rt.config.tekton.enabled) await rt.tenancy.refreshTektonOnScmp();
      return undefined;
    }
    case EVENT_TYPES.scmpTargeted: {
      const msg = decodeServiceSpecificConfigurationUpdateEvent(bytes);
      log.info(
        { correlationId: msg.correlationId, tenantId: msg.tenantID, appName: msg.appName, appVersionName: msg.appVerName },
        'SCMP configuration update',
      );
      if (rt.config.tekton.enabled) await rt.tenancy.refreshTektonOnScmp();
      return undefined;
    }
    case EVENT_TYPES.tleUpdated: {
      const msg = decodeTenantUpdatedEvent(bytes);
      if (isExpired(msg, Date.now())) return void log.warn({ correlationId: msg.correlationId }, 'expired TLE event dropped');
      log.info({ correlationId: msg.correlationId, tenantId: msg.tenantId }, 'tenant updated');
      await rt.tenancy.tenantUpdated(msg.tenantId);
      return undefined;
    }
    case EVENT_TYPES.tleUnregistered: {
      const msg = decodeTenantUnregisteredEvent(bytes);
      if (isExpired(msg, Date.now())) return void log.warn({ correlationId: msg.correlationId }, 'expired TLE event dropped');
      log.warn({ correlationId: msg.correlationId, tenantId: msg.tenantId }, 'tenant unregistered: its tokens are refused from now on');
      await rt.tenancy.unregisterTenant(msg.tenantId);
      return undefined;
    }
    default:
      throw new ValidationError('UNSUPPORTED_EVENT_TYPE', `scmp-config-reload does not handle ${event.type}`);
  }
}

/** scmp-config-reload: Tekton configuration on 17/SCMP, tenant data on 21/TLE. */
export const scmpConfigReload = defineUnit({ name: 'scmp-config-reload', cloudEvent: handleConfigEvent });
