import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What the tracing hooks (shared/tracing/index.ts) call once tracing is on:
 * implemented by ./spans.ts, loaded with the SDK. Types only, so the guard
 * in index.ts loads nothing.
 */
export interface TracingHooks {
  logFields(): Record<string, string>;
  httpServer(req: IncomingMessage, res: ServerResponse, run: () => void): void;
  httpRoute(res: ServerResponse, route: string): void;
  traceparent(): string | undefined;
  db<T>(operation: string, table: string, run: () => Promise<T>): Promise<T>;
  cloudEvent<T>(event: { type: string; id: string; traceparent?: unknown; tracestate?: unknown }, run: () => Promise<T>): Promise<T>;
  wait<T extends { kind: string }>(run: () => Promise<T>): Promise<T>;
  results(commands: readonly TracedCommand[], startedMs: number): void;
  publish(trace: PublishTrace): Record<string, string> | undefined;
  forward<T>(
    message: ForwardedMessage,
    incoming: (() => Record<string, string>) | undefined,
    outgoing: Record<string, string>,
    run: () => Promise<T>,
  ): Promise<T>;
  httpClient<T>(
    request: HttpClientRequest,
    run: (headers: Readonly<Record<string, string>>) => Promise<T>,
    outcome: (value: T) => HttpClientOutcome,
  ): Promise<T>;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

/** An outgoing HTTP request: `parent` (a stored traceparent) puts it in that trace instead of the active one. */
export interface HttpClientRequest {
  method: string;
  url: string;
  parent?: string | undefined;
}

/** What became of it: the status when one came, and whether it counts as failed. */
export interface HttpClientOutcome {
  status?: number | undefined;
  failed: boolean;
}

/** A command as a span needs it: its key, and the context it was created in. */
export interface TracedCommand {
  endpointId: string;
  commandType: string;
  commandId: number;
  statusCode?: number | null;
  traceparent?: string | null;
}

/** A NATS message the bridge forwards: `subscription` (wildcards and all) names its span. */
export interface ForwardedMessage {
  subject: string;
  subscription: string;
  queue: string | undefined;
  bytes: number;
  correlationId?: string;
}

/** One message being published, and the contexts of what it carries. */
export interface PublishTrace {
  subject: string;
  /** The span's name when the subject is not (a caller's reply inbox): `publish <destination>`. */
  destination?: string;
  bytes: number;
  /** The stored traceparents of the commands it carries (the first valid one is the parent, all are links). */
  traceparents: readonly (string | null | undefined)[];
  correlationId?: string;
  attributes?: Record<string, string | number | readonly number[]>;
}
