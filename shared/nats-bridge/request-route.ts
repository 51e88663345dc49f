import * as z from 'zod';
import { ValidationError, UnavailableError } from '../errors/index.js';
import { sendJson, type Route } from '../http/index.js';
import { NATS_REQUEST_PATH, type NatsReplyBody } from '../bridge/contract.js';
import type { NatsRequests } from './requests.js';

interface Served {
  requests: NatsRequests;
  connected(): boolean;
}

/**
 * Where POST /nats/request finds the bridge of its process: a part of the
 * process's services (shared/roots/services.ts), which the bridge fills
 * while it runs.
 */
export class NatsRequestDesk {
  private served: Served | undefined;

  /** Called by startBridge; returns the withdrawal its stop calls. */
  serve(requests: NatsRequests, connected: () => boolean): () => void {
    const served = { requests, connected };
    this.served = served;
    return () => {
      if (this.served === served) this.served = undefined;
    };
  }

  current(): Served | undefined {
    return this.served;
  }
}

const body = z.object({
  subject: z.string().min(1).max(512),
  data: z.base64().max(8 * 1024 * 1024),
  timeoutMs: z.number().int().min(1).max(120_000),
});

/**
 * POST /nats/request on the bridge (shared/bridge/contract.ts): the internal
 * endpoint through which functions make NATS requests. Not a public route:
 * the ingress never routes to the bridge, and the bridge only sends the
 * requests its table allows (requests.ts).
 */
export const natsRequestRoute: Route<{ natsRequests: NatsRequestDesk }> = {
  unit: 'nats-bridge',
  method: 'POST',
  path: NATS_REQUEST_PATH,
  operationId: 'natsRequest',
  summary: 'NATS request/reply on behalf of a function (internal)',
  async handle({ res, body: raw }, { natsRequests }) {
    const bridge = natsRequests.current();
    if (!bridge) throw new UnavailableError('NATS_UNAVAILABLE', 'no nats-bridge runs in this process');
    let parsed: z.infer<typeof body>;
    try {
      parsed = body.parse(JSON.parse(raw.toString('utf8')));
    } catch (err) {
      throw new ValidationError('INVALID_NATS_REQUEST', `body must be {subject, data (base64), timeoutMs}: ${(err as Error).message}`);
    }
    const reply = await bridge.requests.request(parsed.subject, Buffer.from(parsed.data, 'base64'), parsed.timeoutMs, bridge.connected());
    const answer: NatsReplyBody = { subject: reply.subject, data: Buffer.from(reply.data).toString('base64') };
    sendJson(res, 200, answer);
  },
};
