import type { Config } from '../config/index.js';
import { CexError, UnavailableError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { NatsConnection, Subscription } from '../nats/index.js';
import {
  decodeEndpointListByFilterRequest,
  decodeEndpointListByFilterResponse,
  efmpReplySubject,
  efmpRequestSubject,
} from '../protocol/index.js';
import { publishTraced } from '../tracing/nats.js';

/**
 * A request/reply exchange the bridge performs for functions: where the
 * request goes, the replica subject the reply comes back on (3/ISM: a
 * response that must reach this replica), and how to read the correlationId
 * of each side (which also checks the bytes are that message at all).
 */
interface RequestRoute {
  subject: string;
  replyTo: string;
  requestId(bytes: Uint8Array): string;
  replyId(bytes: Uint8Array): string;
}

function requestRoutes(config: Config): RequestRoute[] {
  return [
    {
      subject: efmpRequestSubject(config.eprInstanceName),
      replyTo: efmpReplySubject(config.replicaId),
      requestId: (b) => decodeEndpointListByFilterRequest(b).correlationId,
      replyId: (b) => decodeEndpointListByFilterResponse(b).correlationId,
    },
  ];
}

interface Pending {
  resolve(reply: { subject: string; data: Uint8Array }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** A reply did not come within the caller's timeout. */
export class NatsRequestTimeoutError extends CexError {
  override readonly name = 'NatsRequestTimeoutError';
  constructor(subject: string, timeoutMs: number) {
    super('NATS_REQUEST_TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms`);
  }
}

/**
 * NATS request/reply for functions. Replies come back on this replica's own
 * subject, subscribed once when NATS is up (no queue group: the reply is
 * meant for this replica), and are matched to their request by
 * correlationId. Another replica's request never reaches this map, and a
 * reply nobody waits for any more (late, or after a restart) is dropped.
 */
export class NatsRequests {
  private readonly routes: RequestRoute[];
  private readonly pending = new Map<string, Pending>();
  private subscriptions: Subscription[] = [];
  private nc: NatsConnection | undefined;
  private stopped = false;

  constructor(
    config: Config,
    private readonly log: Logger,
  ) {
    this.routes = requestRoutes(config);
  }

  /** Subscribes every reply subject; resolves once the server has them. */
  async start(nc: NatsConnection): Promise<void> {
    this.nc = nc;
    this.subscriptions = this.routes.map((route) =>
      nc.subscribe(route.replyTo, { callback: (err, msg) => (err ? undefined : this.onReply(route, msg.subject, msg.data)) }),
    );
    await nc.flush();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Publishes `data` on `subject` with this replica's reply subject and
   * resolves with the reply. Throws 403 for a subject functions may not
   * request on, 400 for bytes that are not that request, 503 when NATS is
   * down or the bridge stopping, 504 on timeout.
   */
  async request(subject: string, data: Uint8Array, timeoutMs: number, connected: boolean): Promise<{ subject: string; data: Uint8Array }> {
    const route = this.routes.find((r) => r.subject === subject);
    if (!route) throw new CexError('SUBJECT_NOT_ALLOWED', `the bridge does not send requests on ${subject}`);
    let id: string;
    try {
      id = route.requestId(data);
    } catch (err) {
      throw new CexError('INVALID_NATS_REQUEST', `not a request of ${subject}: ${(err as Error).message}`);
    }
    if (!this.nc || !connected || this.stopped) throw new UnavailableError('NATS_UNAVAILABLE', 'NATS is not connected');
    const key = `${route.replyTo} ${id}`;
    if (this.pending.has(key)) throw new CexError('DUPLICATE_CORRELATION_ID', `a request with correlationId ${id} is in flight`);
    const nc = this.nc;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new NatsRequestTimeoutError(subject, timeoutMs));
      }, timeoutMs);
      this.pending.set(key, { resolve, reject, timer });
      try {
        // In the trace of the function's request (tracing on), carried in the message's headers.
        publishTraced(nc, subject, data, () => ({ traceparents: [], correlationId: id }), { reply: route.replyTo });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(key);
        reject(new UnavailableError('NATS_UNAVAILABLE', `publish failed: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  /** Shutdown: nothing new is accepted and every waiting request answers 503. */
  stop(): void {
    this.stopped = true;
    for (const sub of this.subscriptions.splice(0)) sub.unsubscribe();
    for (const [key, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new UnavailableError('NATS_UNAVAILABLE', 'the bridge is shutting down'));
      this.pending.delete(key);
    }
  }

  private onReply(route: RequestRoute, subject: string, data: Uint8Array): void {
    let id: string;
    try {
      id = route.replyId(data);
    } catch (err) {
      // Includes the "no responders" status the server sends to reply
      // subjects: it carries no correlationId, so the request times out.
      this.log.debug({ subject, err: (err as Error).message, bytes: data.length }, 'reply that does not decode dropped');
      return;
    }
    const key = `${route.replyTo} ${id}`;
    const pending = this.pending.get(key);
    if (!pending) {
      this.log.info({ subject, correlationId: id }, 'reply nobody waits for (late or unknown) dropped');
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(key);
    // A copy: msg.data is a view into the socket chunk.
    pending.resolve({ subject, data: Buffer.from(data) });
  }
}
