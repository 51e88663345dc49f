/**
 * A stand-in for the Kaa endpoint registry on real NATS: answers 20/EFMP
 * endpoint-list requests, decoded and encoded with the PUBLISHED schemas
 * (not the project's codecs), to the request's NATS reply subject.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { referenceType } from '../protocol/reference.js';

const requestType = referenceType('endpointListByFilterRequest');
const responseType = referenceType('endpointListByFilterResponse');

/** What the registry answers for one filter; `silent` answers nothing. */
export type FilterAnswer = { endpoints: Record<string, string[]> } | { statusCode: number; reasonPhrase: string | null } | 'silent';

export interface EfmpRequestSeen {
  filterId: string;
  correlationId: string;
  timeout: number;
  reply: string | undefined;
}

export interface EfmpResponder {
  requests: EfmpRequestSeen[];
  /** Filter id → answer; unknown filters get 404. */
  filters: Map<string, FilterAnswer>;
  stop(): void;
}

export async function startEfmpResponder(nc: NatsConnection, epr: string): Promise<EfmpResponder> {
  const requests: EfmpRequestSeen[] = [];
  const filters = new Map<string, FilterAnswer>();
  const sub: Subscription = nc.subscribe(`kaa.v1.service.${epr}.efmp.ep-list-by-filter-request`, {
    callback: (err, msg) => {
      if (err) return;
      const req = requestType.fromBuffer(Buffer.from(msg.data)) as {
        correlationId: string;
        timestamp: number;
        timeout: number;
        filterId: string;
      };
      requests.push({ filterId: req.filterId, correlationId: req.correlationId, timeout: req.timeout, reply: msg.reply || undefined });
      const answer = filters.get(req.filterId) ?? { statusCode: 404, reasonPhrase: `no filter ${req.filterId}` };
      if (answer === 'silent' || !msg.reply) return;
      const ok = 'endpoints' in answer;
      nc.publish(
        msg.reply,
        responseType.toBuffer({
          correlationId: req.correlationId,
          timestamp: Date.now(),
          timeout: 0,
          filterId: req.filterId,
          appVersionsToEndpoints: ok ? answer.endpoints : {},
          statusCode: ok ? 200 : answer.statusCode,
          reasonPhrase: ok ? null : answer.reasonPhrase,
        }),
      );
    },
  });
  await nc.flush();
  return { requests, filters, stop: () => sub.unsubscribe() };
}
