import type { ClaimedRow } from '../store/index.js';
import type { FunctionAnswer } from './contract.js';

/**
 * What a unit served in this same process made of one event: the status its
 * HTTP answer would have had, the messages to publish (200), or why it
 * failed (4xx/5xx).
 */
export interface LocalAnswer {
  status: number;
  publish?: FunctionAnswer['publish'];
  error?: string;
}

/** Hands one CloudEvent (binary mode: ce-* headers and the data) to a unit of this process. */
export type LocalEventHandler = (headers: Readonly<Record<string, string>>, body: Uint8Array) => Promise<LocalAnswer>;

/**
 * The units of this process that take the bridge's CloudEvents, by the URL
 * the bridge would POST them to. In the dev host the bridge and the units
 * share a process: the bridge then calls the unit through the same
 * CloudEvent contract (same headers, same parse, same answer) without the
 * HTTP round trip, which cost ~1 ms and a client and a server pass of CPU
 * per event on 2 cores. A URL that names another process (a Knative
 * Service, or a dev host configured to forward elsewhere) finds nothing
 * here and is POSTed as before.
 */
export class LocalEventDesk {
  private readonly byUrl = new Map<string, LocalEventHandler>();

  /** Registers `handler` for events POSTed to `url`; returns the unregister. */
  serve(url: string, handler: LocalEventHandler): () => void {
    this.byUrl.set(url, handler);
    return () => {
      if (this.byUrl.get(url) === handler) this.byUrl.delete(url);
    };
  }

  /** The in-process handler for `url`, if a unit of this process serves it. */
  lookup(url: string): LocalEventHandler | undefined {
    return this.byUrl.get(url);
  }
}

/** What a drainer of this process offers the writes of this process. */
export interface LocalDrainer {
  /** Wakes it: rows are due. */
  trigger(): void;
  /** Whether it can publish a push right now (running, NATS connected). */
  canPublish(): boolean;
  /** The lease a create claims its push row with for it. */
  readonly leaseMs: number;
  /** Push rows a create claimed for it: published at once, without a claim of its own. */
  offer(claimed: readonly ClaimedRow[]): void;
}

/**
 * The outbox drainer of this process, when a bridge runs here (dev host).
 * A write that queued bridge work wakes it directly, at once, while its
 * NOTIFY (still sent, for other replicas) makes its round trip. A create
 * may go further and claim the push row it writes (claimLease), then hand
 * it over (offer): the push is published with no claim statement in
 * between, one statement and one round trip fewer per command.
 */
export class LocalDrainerWake {
  private drainer: LocalDrainer | undefined;

  /** Registers this process's drainer; returns the unregister. */
  serve(drainer: LocalDrainer): () => void {
    this.drainer = drainer;
    return () => {
      if (this.drainer === drainer) this.drainer = undefined;
    };
  }

  /** Wakes the drainer of this process, if there is one. */
  trigger(): void {
    this.drainer?.trigger();
  }

  /** The lease to claim a push row with for this process's drainer, when it can publish now. */
  claimLease(): number | undefined {
    return this.drainer?.canPublish() ? this.drainer.leaseMs : undefined;
  }

  /**
   * Hands claimed push rows to this process's drainer. With none (it
   * stopped since claimLease), the rows' lease runs out and any drainer
   * pushes them then.
   */
  offer(claimed: readonly ClaimedRow[]): void {
    this.drainer?.offer(claimed);
  }
}
