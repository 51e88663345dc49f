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

/**
 * The outbox drainer of this process, when a bridge runs here (dev host):
 * a write that queued bridge work wakes it directly, at once, while its
 * NOTIFY (still sent, for other replicas) makes its round trip. Saves the
 * NOTIFY's round trip and delivery on the way from a create to its push.
 */
export class LocalDrainerWake {
  private wake: (() => void) | undefined;

  /** Registers the drainer's trigger; returns the unregister. */
  serve(trigger: () => void): () => void {
    this.wake = trigger;
    return () => {
      if (this.wake === trigger) this.wake = undefined;
    };
  }

  /** Wakes the drainer of this process, if there is one. */
  trigger(): void {
    this.wake?.();
  }
}
