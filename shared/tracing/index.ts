import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/index.js';
import type { ForwardedMessage, HttpClientOutcome, HttpClientRequest, PublishTrace, TracedCommand, TracingHooks } from './hooks.js';

export type { TracedCommand, PublishTrace } from './hooks.js';

/**
 * Tracing (OpenTelemetry, W3C Trace Context), behind one guard.
 *
 * Off unless the standard OTEL_* variables ask for it (tracingWanted). Off,
 * nothing of OpenTelemetry is loaded: this file imports only types, every
 * hook below returns after one `hooks === undefined` check, and no
 * AsyncLocalStorage context manager runs. On, startTracing() imports the SDK
 * (./otel.js; its own file, dist/bundles/tracing.mjs, in the bundles) and the
 * hooks there do the work.
 *
 * Process-wide, like OpenTelemetry's API itself (one tracer provider, one
 * context manager, one propagator per process): each composition root starts
 * it first thing, explicitly, and flushes it last; nothing starts it on a
 * first call.
 */

/**
 * Every OTEL_* variable tracing honours (here or in the SDK it sets up):
 * docs/configuration.md, "Tracing", describes each (test/deploy/wiring.test.ts checks).
 */
export const TRACING_VARIABLES: readonly string[] = Object.freeze([
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  ...['ENDPOINT', 'PROTOCOL', 'HEADERS', 'TIMEOUT', 'COMPRESSION', 'CERTIFICATE', 'CLIENT_CERTIFICATE', 'CLIENT_KEY'].flatMap((v) => [
    `OTEL_EXPORTER_OTLP_${v}`,
    `OTEL_EXPORTER_OTLP_TRACES_${v}`,
  ]),
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_SPAN_EVENT_COUNT_LIMIT',
  'OTEL_SPAN_LINK_COUNT_LIMIT',
  'OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT',
  'OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT',
]);

let hooks: TracingHooks | undefined;
let starting: Promise<boolean> | undefined;

/**
 * Whether the environment turns tracing on: OTEL_TRACES_EXPORTER names an
 * exporter (`otlp`, `console`), or, with OTEL_TRACES_EXPORTER unset, an
 * OTLP endpoint is given. OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none
 * keep it off. (The SDK's own default, exporter `otlp` to localhost, would
 * send every process's spans to a collector nobody asked for.)
 */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (name: string) => env[name]?.trim() || undefined;
  if (value('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return false;
  const exporters = value('OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '' && e !== 'none');
  if (exporters !== undefined) return exporters.length > 0;
  return value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined || value('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined;
}

/**
 * Starts tracing for this process when the environment asks for it; returns
 * whether it is on. `unit` names the process (service.name `cex-<unit>`
 * unless OTEL_SERVICE_NAME says otherwise), `replicaId` is its
 * service.instance.id. Started once per process; later
 * calls return the first one's answer. Never throws: a setup that fails
 * leaves tracing off and says so in the log.
 */
export function startTracing(
  process_: { unit: string; replicaId: string },
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  starting ??= (async () => {
    if (!tracingWanted(env)) return false;
    try {
      // A specifier esbuild maps to ./tracing.mjs beside the bundle (scripts/bundle.mjs), not into it.
      const otel = await import('./otel.js');
      hooks = otel.setUpTracing(process_, log.child({ component: 'tracing' }), env);
      return true;
    } catch (err) {
      log.error({ err }, 'tracing could not start; it stays off');
      return false;
    }
  })();
  return starting;
}

/** Exports the spans still buffered and stops; called last at shutdown. */
export async function stopTracing(): Promise<void> {
  await hooks?.shutdown();
}

/** Whether tracing is on in this process. */
export function tracingOn(): boolean {
  return hooks !== undefined;
}

/** trace_id and span_id of the active span, for pino's mixin (installed only while tracing is on). */
export function traceLogFields(): Record<string, string> {
  return hooks?.logFields() ?? {};
}

/**
 * Runs `run` inside an HTTP server span continuing the request's
 * `traceparent`; the span ends when the response closes. Off: `run()`.
 */
export function traceHttpServer(req: IncomingMessage, res: ServerResponse, run: () => void): void {
  if (hooks === undefined) return run();
  hooks.httpServer(req, res, run);
}

/** Names the server span of `res` after the route that matched (`http.route`). */
export function noteHttpRoute(res: ServerResponse, route: string): void {
  hooks?.httpRoute(res, route);
}

/** The active context as a W3C traceparent, to store with what is created now; undefined when off. */
export function currentTraceparent(): string | undefined {
  return hooks?.traceparent();
}

/** Runs one database statement in a client span (`INSERT commands`). */
export function traceDb<T>(operation: string, table: string, run: () => Promise<T>): Promise<T> {
  return hooks === undefined ? run() : hooks.db(operation, table, run);
}

/** Runs a unit's CloudEvent handler in a span continuing the event's `traceparent` (CloudEvents distributed tracing). */
export function traceCloudEvent<T>(
  event: { type: string; id: string; traceparent?: unknown; tracestate?: unknown },
  run: () => Promise<T>,
): Promise<T> {
  return hooks === undefined ? run() : hooks.cloudEvent(event, run);
}

/** Runs a sync invoke's wait for its result in a span of its own. */
export function traceWait<T extends { kind: string }>(run: () => Promise<T>): Promise<T> {
  return hooks === undefined ? run() : hooks.wait(run);
}

/** After results were recorded at `startedMs`: a span in each executed command's own trace. */
export function traceResults(commands: readonly TracedCommand[], startedMs: number): void {
  if (hooks !== undefined && commands.length > 0) hooks.results(commands, startedMs);
}

/**
 * A message being published: its producer span (parent: the first traced
 * command's context, links to the others) and the W3C headers the message
 * carries. Undefined when off.
 */
export function tracePublish(trace: PublishTrace): Record<string, string> | undefined {
  return hooks?.publish(trace);
}

/**
 * Runs the bridge's forward of one NATS message in a consumer span that
 * continues the message's `traceparent` header (`incoming`), and writes its
 * context into the CloudEvent's headers (`ce-traceparent`, and `traceparent`
 * for the HTTP hop).
 */
export function traceForward<T>(
  message: ForwardedMessage,
  incoming: (() => Record<string, string>) | undefined,
  outgoing: Record<string, string>,
  run: () => Promise<T>,
): Promise<T> {
  return hooks === undefined ? run() : hooks.forward(message, incoming, outgoing, run);
}

/**
 * Runs one outgoing HTTP request in a client span (`POST`); `run` gets the
 * `traceparent` (and `tracestate`) headers to send, none when off.
 * `outcome` reads the status from what `run` returned.
 */
export function traceHttpClient<T>(
  request: HttpClientRequest,
  run: (headers: Readonly<Record<string, string>>) => Promise<T>,
  outcome: (value: T) => HttpClientOutcome,
): Promise<T> {
  return hooks === undefined ? run(NO_HEADERS) : hooks.httpClient(request, run, outcome);
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
