import { internalAuthHeaders } from '../auth/internal.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Metrics } from '../metrics/index.js';
import type { Msg } from '../nats/index.js';
import { isExpired, type Envelope } from '../protocol/index.js';
import { cloudEventHeaders, functionUrl, newEventId, type NatsEvent } from '../bridge/cloudevent.js';
import { EVENT_TARGETS } from '../bridge/contract.js';
import type { LocalEventDesk } from '../bridge/local-events.js';
import { postEvent, type ForwardSettings } from './forward.js';
import type { BridgeRoute, SubjectKind } from './routes.js';
import { screenMessage } from './screen.js';
import { LogThrottle } from './throttle.js';
import { WorkQueue, type WorkQueueLimits } from './work-queue.js';
import { traceForward } from '../tracing/index.js';
import { messageTraceContext } from '../tracing/nats.js';

export interface InboundDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Publishes one message a function asked for (throws when NATS is closed). */
  publish(subject: string, data: Uint8Array): void;
  settings: ForwardSettings;
  limits: WorkQueueLimits;
  /** Units of this process (dev host): their events skip the HTTP round trip. */
  localEvents?: LocalEventDesk;
}

interface Item {
  kind: SubjectKind;
  route: BridgeRoute;
  /** The W3C context in the message's headers (tracing on). */
  trace: Record<string, string> | undefined;
  event: NatsEvent;
  envelope: Envelope;
  id: string;
}

/**
 * NATS messages in, CloudEvents out: screens each message (undecodable or
 * expired ones are dropped here), queues it with bounded concurrency, POSTs
 * it to its function, and publishes what the function answers. Nothing a
 * message contains can throw out of `receive`, so the NATS client (whose
 * parser calls it) is never disturbed.
 */
export class Inbound {
  private readonly abort = new AbortController();
  private readonly queue: WorkQueue<Item>;
  private readonly drops: LogThrottle;

  constructor(private readonly deps: InboundDeps) {
    this.queue = new WorkQueue((item) => this.forward(item), deps.limits);
    this.drops = new LogThrottle(deps.log);
  }

  /** The subscription callback. */
  receive(route: BridgeRoute, msg: Msg): void {
    try {
      const type = route.classify(msg.subject);
      if (!type) return this.drop(route.kind, 'unknown_type', { subject: msg.subject }, 'message of an unknown event type dropped');
      // A copy: msg.data is a view into the socket chunk, which it would keep alive while queued.
      const data = Buffer.from(msg.data);
      const screened = screenMessage(type, data, Date.now());
      if (!screened.ok) {
        if (screened.reason === 'expired') return this.dropExpired(route.kind, msg.subject, screened.envelope);
        return this.drop(route.kind, 'undecodable', { subject: msg.subject, reason: screened.detail }, 'undecodable message dropped');
      }
      const item: Item = {
        kind: route.kind,
        route,
        trace: messageTraceContext(msg),
        event: { type, subject: msg.subject, reply: msg.reply || undefined, data },
        envelope: screened.envelope,
        id: newEventId(),
      };
      if (!this.queue.push(item, data.length)) {
        this.drop(
          route.kind,
          'overload',
          { subject: msg.subject, correlationId: item.envelope.correlationId },
          'bridge backlog full: message dropped',
        );
      }
    } catch (err) {
      this.drop(route.kind, 'error', { subject: msg.subject, err }, 'message handling failed; dropped');
    }
  }

  get backlog(): { inFlight: number; queued: number } {
    return { inFlight: this.queue.inFlight, queued: this.queue.queued };
  }

  /** Waits for queued and in-flight forwards until `deadline` (epoch ms), then aborts what is left. */
  async finish(deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([this.queue.idle(), late]);
    clearTimeout(timer);
    this.abort.abort();
    // Aborted fetches settle at once; let them unwind.
    await Promise.race([this.queue.idle(), new Promise((r) => setTimeout(r, 200))]);
  }

  /**
   * 9/ELCE events are forwarded one at a time, in arrival order: "connected"
   * then "disconnected" of one endpoint must leave it offline, and two
   * concurrent forwards could commit in either order (seen once the dev
   * host's dispatch got faster: an endpoint stayed online after its
   * session closed). They are rare (a session opening or closing), so the
   * queue costs nothing; every other kind is forwarded concurrently.
   */
  private connectivityTail: Promise<void> = Promise.resolve();

  private forward(item: Item): Promise<void> {
    if (item.kind !== 'elce') return this.send(item);
    const run = this.connectivityTail.then(() => this.send(item));
    this.connectivityTail = run.catch(() => undefined);
    return run;
  }

  private async send(item: Item): Promise<void> {
    const { config, metrics, settings, log } = this.deps;
    const { event, envelope } = item;
    // It may have waited in the backlog past its expiry.
    if (isExpired(envelope, Date.now())) return this.dropExpired(item.kind, event.subject, envelope);
    const target = EVENT_TARGETS[event.type];
    const started = process.hrtime.bigint();
    const headers = { ...cloudEventHeaders(event, item.id, config.replicaId), ...internalAuthHeaders(config) };
    const url = functionUrl(config, event.type);
    const forwarded = {
      subject: event.subject,
      subscription: item.route.subject,
      queue: item.route.queue,
      bytes: event.data.length,
      correlationId: envelope.correlationId,
    };
    let published = 0;
    const result = await traceForward(forwarded, item.trace && (() => item.trace!), headers, async () => {
      const forwardResult = await postEvent(
        url,
        headers,
        event.data,
        settings,
        this.abort.signal,
        () => !isExpired(envelope, Date.now()),
        this.deps.localEvents?.lookup(url),
      );
      // Inside the forward's span (tracing on): the answers' publishes are its children.
      for (const message of forwardResult.publish) {
        try {
          this.deps.publish(message.subject, Buffer.from(message.data, 'base64'));
          published++;
        } catch (err) {
          log.error(
            { err, subject: message.subject, correlationId: envelope.correlationId, target },
            'publishing a function answer failed',
          );
        }
      }
      return forwardResult;
    });
    metrics.bridgeForwardDuration.observe({ target, outcome: result.outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    metrics.natsMessages.inc({ subject_kind: item.kind, outcome: result.outcome === 'answered' ? 'forwarded' : result.outcome });
    const fields = {
      correlationId: envelope.correlationId,
      subject: event.subject,
      target,
      status: result.status,
      attempts: result.attempts,
    };
    switch (result.outcome) {
      case 'answered':
        log.debug({ ...fields, published }, 'event forwarded');
        break;
      case 'rejected':
        // A 401 is no fault of the message: this bridge and the function disagree on CEX_INTERNAL_TOKEN.
        if (result.status === 401)
          log.error(
            { ...fields, error: result.error },
            'function refused the internal credential (check CEX_INTERNAL_TOKEN on both); dropped',
          );
        else this.drops.warn(`rejected:${target}`, { ...fields, error: result.error }, 'function rejected the event; dropped');
        break;
      case 'expired':
        this.dropExpired(item.kind, event.subject, envelope, false);
        break;
      default:
        this.drops.warn(
          `${result.outcome}:${target}`,
          { ...fields, outcome: result.outcome, error: result.error },
          'event could not be forwarded; dropped',
        );
    }
  }

  private dropExpired(kind: SubjectKind, subject: string, envelope: Envelope, count = true): void {
    if (count) this.deps.metrics.natsMessages.inc({ subject_kind: kind, outcome: 'expired' });
    this.drops.info(
      `expired:${kind}`,
      {
        subject,
        correlationId: envelope.correlationId,
        timestamp: envelope.timestamp,
        timeout: envelope.timeout,
      },
      'expired message dropped',
    );
  }

  private drop(kind: SubjectKind, outcome: string, fields: Record<string, unknown>, message: string): void {
    this.deps.metrics.natsMessages.inc({ subject_kind: kind, outcome });
    this.drops.warn(`${outcome}:${kind}`, fields, message);
  }
}
