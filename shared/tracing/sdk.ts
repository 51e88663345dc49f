import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../log/index.js';

/** How long a stopping process waits for its last spans to be exported. */
const SHUTDOWN_EXPORT_MS = 3_000;

/**
 * The SDK, set up from the standard OTEL_* variables only (docs/configuration.md,
 * "Tracing"): a small explicit setup rather than @opentelemetry/sdk-node,
 * which would load instrumentations CEX does not use. Registers the global
 * tracer provider, the AsyncLocalStorage context manager and the W3C Trace
 * Context propagator. What the SDK reads itself: OTEL_TRACES_SAMPLER(_ARG),
 * OTEL_BSP_*, OTEL_SPAN_*_LIMIT, and the exporters' OTEL_EXPORTER_OTLP_*
 * headers, timeout and compression.
 */
export function setUpSdk(
  { unit, replicaId }: { unit: string; replicaId: string },
  log: Logger,
  env: NodeJS.ProcessEnv,
): { shutdown(): Promise<void> } {
  reportExportFailuresOnce(log);
  const exporters = exportersFrom(env, log);
  // Ours below OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (envDetector): later merges win.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        'service.name': `cex-${unit}`,
        'service.namespace': 'cex',
        'service.instance.id': replicaId,
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: exporters.map((e) => new BatchSpanProcessor(e)) });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  log.info(
    {
      exporters: exporters.map((e) => e.constructor.name),
      serviceName: resource.attributes['service.name'],
      sampler: env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
    },
    'tracing on',
  );
  return {
    async shutdown() {
      // A collector that hangs must not hold a stopping pod: the SDK would
      // wait up to OTEL_BSP_EXPORT_TIMEOUT (30 s) for the last batch.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_EXPORT_MS)));
      await Promise.race([provider.shutdown().catch((err: unknown) => log.warn({ err }, 'exporting the last spans failed')), late]);
      clearTimeout(timer);
    },
  };
}

/** OTEL_TRACES_EXPORTER's exporters (`otlp` when only an endpoint is set), OTLP by OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL. */
function exportersFrom(env: NodeJS.ProcessEnv, log: Logger): SpanExporter[] {
  const names = (env.OTEL_TRACES_EXPORTER?.trim() || 'otlp')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '' && n !== 'none');
  const exporters: SpanExporter[] = [];
  for (const name of new Set(names)) {
    if (name === 'console') exporters.push(new ConsoleSpanExporter());
    else if (name === 'otlp') exporters.push(otlpExporter(env, log));
    else log.warn({ exporter: name }, 'OTEL_TRACES_EXPORTER names an exporter CEX does not have (otlp, console); ignored');
  }
  return exporters;
}

function otlpExporter(env: NodeJS.ProcessEnv, log: Logger): SpanExporter {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  // The exporters would read the endpoint from process.env themselves; it is
  // resolved here so the environment given to startTracing is the one used.
  const url =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    `${(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  if (protocol === 'http/json') return new OtlpJsonExporter({ url });
  if (protocol !== 'http/protobuf') {
    log.warn(
      { protocol },
      'OTEL_EXPORTER_OTLP_PROTOCOL: CEX exports OTLP over HTTP only (http/protobuf or http/json); using http/protobuf',
    );
  }
  return new OtlpProtobufExporter({ url });
}

/**
 * A receiver that is down must not fill the log: spans are dropped, and the
 * first failure is logged once, as a warning (the SDK reports each failed
 * export through its error handler and diag).
 */
function reportExportFailuresOnce(log: Logger): void {
  let told = false;
  const tell = (err: unknown) => {
    if (told) return;
    told = true;
    log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'exporting spans failed; spans are dropped while it fails (said once)',
    );
  };
  setGlobalErrorHandler(tell);
  diag.setLogger(
    { error: (message) => tell(message), warn: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined },
    DiagLogLevel.ERROR,
  );
}
