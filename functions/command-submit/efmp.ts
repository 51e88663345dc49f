import { randomUUID } from 'node:crypto';
import { natsRequest } from '../../shared/bridge/client.js';
import { ENDPOINT_ID_PATTERN } from '../../shared/domain/index.js';
import { CexError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/log/index.js';
import {
  decodeEndpointListByFilterResponse,
  efmpRequestSubject,
  encodeEndpointListByFilterRequest,
  type EndpointListByFilterResponse,
} from '../../shared/protocol/index.js';
import type { Runtime } from '../../shared/runtime/index.js';
import type { BatchEndpoint } from '../../shared/store/index.js';

// A filter's snapshot is written in one transaction; far past this, one
// transaction would hold thousands of locks for seconds. Kaa filters this
// large call for by-endpoints batches in slices.
export const MAX_FILTER_ENDPOINTS = 100_000;

/**
 * Resolves a 20/EFMP filter to its endpoints ONCE (a snapshot, docs/rest-api.md,
 * Batch), through the bridge: functions do not speak NATS. The request's
 * timeout field tells the registry when CEX stops waiting. No reply in
 * CEX_EFMP_TIMEOUT_MS → 504; an error statusCode or a reply that is not the
 * answer to this request → 502. Ids that fail the endpoint id pattern cannot
 * be commanded and are left out (logged); an id listed under two app
 * versions is taken once.
 */
export async function resolveFilter(rt: Runtime, filterId: string, log: Logger): Promise<BatchEndpoint[]> {
  const { config } = rt;
  const correlationId = randomUUID();
  const request = encodeEndpointListByFilterRequest({ correlationId, timestamp: Date.now(), timeout: config.efmpTimeoutMs, filterId });
  const subject = efmpRequestSubject(config.eprInstanceName);
  let reply: Uint8Array;
  try {
    reply = await natsRequest(config, subject, request, config.efmpTimeoutMs);
  } catch (err) {
    if (err instanceof CexError && err.status === 504) {
      throw new CexError(
        'EFMP_TIMEOUT',
        `the endpoint registry did not answer for filter ${filterId} within ${config.efmpTimeoutMs} ms; nothing was created`,
      );
    }
    throw err;
  }
  let response: EndpointListByFilterResponse;
  try {
    response = decodeEndpointListByFilterResponse(reply);
  } catch (err) {
    throw new CexError('EFMP_BAD_RESPONSE', `the endpoint registry's answer does not decode: ${(err as Error).message}`, { cause: err });
  }
  if (response.correlationId !== correlationId || response.filterId !== filterId) {
    throw new CexError('EFMP_BAD_RESPONSE', 'the endpoint registry answered another request');
  }
  if (response.statusCode < 200 || response.statusCode > 299) {
    const reason = response.reasonPhrase ? `: ${response.reasonPhrase}` : '';
    throw new CexError(
      'EFMP_ERROR',
      `the endpoint registry answered ${response.statusCode} for filter ${filterId}${reason}; nothing was created`,
    );
  }
  const seen = new Set<string>();
  const endpoints: BatchEndpoint[] = [];
  let invalid = 0;
  for (const [appVersionName, ids] of Object.entries(response.appVersionsToEndpoints)) {
    for (const endpointId of ids) {
      if (!ENDPOINT_ID_PATTERN.test(endpointId)) invalid++;
      else if (!seen.has(endpointId)) {
        seen.add(endpointId);
        endpoints.push({ endpointId, appVersionName: appVersionName || null });
      }
    }
  }
  if (invalid > 0) log.warn({ filterId, correlationId, invalid }, 'endpoint ids from 20/EFMP that fail the id pattern left out');
  if (endpoints.length > MAX_FILTER_ENDPOINTS) {
    throw new CexError(
      'FILTER_TOO_LARGE',
      `filter ${filterId} matches ${endpoints.length} endpoints; at most ${MAX_FILTER_ENDPOINTS} per batch`,
    );
  }
  log.info({ filterId, correlationId, endpoints: endpoints.length }, '20/EFMP filter resolved');
  return endpoints;
}
