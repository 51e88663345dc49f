/**
 * 9/ELCE connectivity events (docs/nats-protocols.md, 9/ELCE): `connected` marks the
 * endpoints online, learns their app versions and queues an immediate push of
 * their outstanding commands; `disconnected` marks them offline so pushes
 * wait for the next connect or poll. Nothing is ever answered.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { CHANNELS, OUTBOX_WORK, notify } from '../db/index.js';
import { ENDPOINT_ID_PATTERN } from '../domain/index.js';
import { toCexError } from '../errors/index.js';
import {
  decodeEndpointConnectedEvent,
  decodeEndpointDisconnectedEvent,
  isExpired,
  type EndpointConnectivityEvent,
} from '../protocol/index.js';
import type { Runtime } from '../runtime/index.js';
import { enqueuePushesForEndpoints, setOnline } from '../store/index.js';
import { eventBytes, eventSummary } from './event.js';

// One event may list many endpoints (a kpc replica restarting reconnects all
// of its sessions); statements take them in slices so no single one grows
// without bound.
const ENDPOINTS_PER_STATEMENT = 5000;

/**
 * Applies a connected (`online` true) or disconnected event. Expired events
 * are logged and dropped (204); undecodable ones throw ProtocolDecodeError
 * (400); database failures throw 503 so the bridge retries (both statements
 * are idempotent).
 */
export async function handleConnectivityEvent(rt: Runtime, event: CloudEvent<unknown>, online: boolean): Promise<undefined> {
  const log = rt.log.child({ component: 'esp-inbound', elce: online ? 'connected' : 'disconnected' });
  const bytes = eventBytes(event);
  let message: EndpointConnectivityEvent;
  try {
    message = online ? decodeEndpointConnectedEvent(bytes) : decodeEndpointDisconnectedEvent(bytes);
  } catch (err) {
    log.info({ err, ...eventSummary(event) }, 'undecodable 9/ELCE event refused');
    throw err;
  }
  const mlog = log.child({ correlationId: message.correlationId, originatorReplicaId: message.originatorReplicaId });
  if (isExpired(message, Date.now())) {
    mlog.warn({ timestamp: message.timestamp, timeout: message.timeout }, 'expired 9/ELCE event dropped');
    return undefined;
  }
  const endpoints = new Map<string, string>();
  const invalid: string[] = [];
  for (const [endpointId, appVersionName] of Object.entries(message.endpoints)) {
    if (ENDPOINT_ID_PATTERN.test(endpointId)) endpoints.set(endpointId, appVersionName);
    else invalid.push(endpointId.slice(0, 140));
  }
  if (invalid.length > 0) mlog.warn({ invalid: invalid.slice(0, 10), count: invalid.length }, 'endpoint ids CEX cannot serve ignored');

  try {
    let queued = 0;
    const entries = [...endpoints];
    for (let i = 0; i < entries.length; i += ENDPOINTS_PER_STATEMENT) {
      const slice = new Map(entries.slice(i, i + ENDPOINTS_PER_STATEMENT));
      await setOnline(rt.sql, slice, online);
      // After setOnline committed, so the bridge handling these rows reads the endpoints as online.
      if (online) queued += await enqueuePushesForEndpoints(rt.sql, [...slice.keys()]);
    }
    if (queued > 0) await notify(rt.sql, CHANNELS.outbox, [OUTBOX_WORK.bridge]);
    mlog.info({ endpoints: endpoints.size, pushesQueued: queued }, online ? 'endpoints connected' : 'endpoints disconnected');
  } catch (err) {
    throw toCexError(err);
  }
  return undefined;
}
