import type { ServerResponse } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { TracingHooks } from './hooks.js';

/**
 * The spans CEX makes, named and attributed after the OpenTelemetry semantic
 * conventions: HTTP server (`POST /api/v1/endpoints/{endpointId}/commands/{commandType}`)
 * and client (`POST`), messaging with `messaging.system` = `nats`
 * (`process <subject>`, `publish <subject>`), database (`INSERT commands`),
 * and CEX's own (`wait for result`, `record result`, `process <CloudEvent type>`).
 * README "Observability" lists them.
 */

// Scrapes and probes would each start a trace of their own, every few seconds.
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function createHooks(shutdown: () => Promise<void>): TracingHooks {
  const tracer = trace.getTracer('cex');
  const serverSpans = new WeakMap<ServerResponse, { span: Span; method: string }>();

  /** Runs `run` with `span` active under `parent`; ends it when `run` settles, an error marking it failed. */
  async function within<T>(span: Span, parent: Context, run: () => Promise<T>, after?: (value: T) => void): Promise<T> {
    try {
      const value = await context.with(trace.setSpan(parent, span), run);
      after?.(value);
      return value;
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  return {
    logFields(): Record<string, string> {
      const ctx = trace.getSpan(context.active())?.spanContext();
      return ctx && trace.isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
    },

    httpServer(req, res, run) {
      const path = (req.url ?? '/').split('?', 1)[0]!;
      if (UNTRACED_PATHS.has(path)) return run();
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const method = req.method ?? 'GET';
      const span = tracer.startSpan(
        method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': method,
            // The path only: a query may carry a callback URL's token.
            'url.path': path,
            'url.scheme': 'http',
            'network.protocol.version': req.httpVersion,
            ...(req.headers.host ? { 'server.address': req.headers.host.replace(/:\d+$/, '') } : {}),
            ...(req.socket.localPort ? { 'server.port': req.socket.localPort } : {}),
            ...(req.socket.remoteAddress ? { 'client.address': req.socket.remoteAddress } : {}),
            ...(req.headers['user-agent'] ? { 'user_agent.original': req.headers['user-agent'] } : {}),
          },
        },
        parent,
      );
      serverSpans.set(res, { span, method });
      res.once('close', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) {
          span.setAttribute('error.type', String(res.statusCode));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      });
      context.with(trace.setSpan(parent, span), run);
    },

    httpRoute(res, route) {
      const server = serverSpans.get(res);
      if (!server) return;
      server.span.setAttribute('http.route', route);
      server.span.updateName(`${server.method} ${route}`);
    },

    traceparent() {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return carrier.traceparent;
    },

    db(operation, table, run) {
      const attributes = {
        'db.system.name': 'postgresql',
        'db.operation.name': operation,
        'db.collection.name': table,
      };
      const parent = context.active();
      return within(tracer.startSpan(`${operation} ${table}`, { kind: SpanKind.CLIENT, attributes }, parent), parent, run);
    },

    cloudEvent(event, run) {
      // Over HTTP the server span is active already (its traceparent is the
      // event's); in the dev host the bridge calls the unit directly and only
      // the event's own attributes carry the context.
      const active = context.active();
      const parent = trace.getSpan(active)
        ? active
        : propagation.extract(ROOT_CONTEXT, contextCarrier(event.traceparent, event.tracestate));
      const span = tracer.startSpan(
        `process ${event.type}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: { 'cloudevents.event_id': event.id, 'cloudevents.event_type': event.type, 'messaging.operation.type': 'process' },
        },
        parent,
      );
      return within(span, parent, run);
    },

    wait(run) {
      const parent = context.active();
      const span = tracer.startSpan('wait for result', { kind: SpanKind.INTERNAL }, parent);
      return within(span, parent, run, (waited) => span.setAttribute('cex.wait.outcome', waited.kind));
    },

    results(commands, startedMs) {
      // Each result belongs to its command's trace (the invoke's); the
      // endpoint's message that brought it is a trace of its own, linked.
      const message = trace.getSpan(context.active())?.spanContext();
      const links: Link[] = message && trace.isSpanContextValid(message) ? [{ context: message }] : [];
      for (const command of commands) {
        if (!command.traceparent) continue;
        const parent = propagation.extract(ROOT_CONTEXT, { traceparent: command.traceparent });
        if (!trace.getSpan(parent)) continue;
        tracer
          .startSpan(
            'record result',
            { kind: SpanKind.INTERNAL, startTime: startedMs, links, attributes: commandAttributes(command) },
            parent,
          )
          .end();
      }
    },

    publish(message) {
      const contexts = message.traceparents
        .filter((t): t is string => !!t)
        .map((t) => propagation.extract(ROOT_CONTEXT, { traceparent: t }))
        .filter((c) => trace.getSpan(c) !== undefined);
      const parent = contexts[0] ?? context.active();
      const links: Link[] = contexts.slice(1).map((c) => ({ context: trace.getSpan(c)!.spanContext() }));
      const span = tracer.startSpan(
        `publish ${message.destination ?? message.subject}`,
        {
          kind: SpanKind.PRODUCER,
          links,
          attributes: {
            'messaging.system': 'nats',
            'messaging.operation.type': 'send',
            'messaging.operation.name': 'publish',
            'messaging.destination.name': message.subject,
            'messaging.message.body.size': message.bytes,
            ...(message.correlationId ? { 'messaging.message.conversation_id': message.correlationId } : {}),
            ...(message.attributes as Attributes | undefined),
          },
        },
        parent,
      );
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(parent, span), carrier);
      // Ended at once: a NATS publish only queues the bytes; the flush that
      // sends them serves the whole batch.
      span.end();
      return carrier;
    },

    forward(message, incoming, outgoing, run) {
      const parent = incoming ? propagation.extract(ROOT_CONTEXT, incoming()) : ROOT_CONTEXT;
      const span = tracer.startSpan(
        `process ${message.subscription}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': 'nats',
            'messaging.operation.type': 'process',
            'messaging.operation.name': 'process',
            'messaging.destination.name': message.subject,
            ...(message.queue ? { 'messaging.consumer.group.name': message.queue } : {}),
            'messaging.message.body.size': message.bytes,
            ...(message.correlationId ? { 'messaging.message.conversation_id': message.correlationId } : {}),
          },
        },
        parent,
      );
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(parent, span), carrier);
      // The CloudEvents distributed-tracing extension (ce-traceparent,
      // ce-tracestate), and the same context for the HTTP hop itself.
      for (const [name, value] of Object.entries(carrier)) {
        outgoing[`ce-${name}`] = value;
        outgoing[name] = value;
      }
      return within(span, parent, run);
    },

    httpClient(request, run, outcome) {
      const parent = request.parent ? propagation.extract(ROOT_CONTEXT, { traceparent: request.parent }) : context.active();
      let target: URL | undefined;
      try {
        target = new URL(request.url);
      } catch {
        target = undefined;
      }
      const span = tracer.startSpan(
        request.method,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': request.method,
            // Neither user, password nor query: they may carry the receiver's secrets.
            ...(target ? { 'url.full': `${target.origin}${target.pathname}`, 'server.address': target.hostname } : {}),
            ...(target ? { 'server.port': Number(target.port || (target.protocol === 'https:' ? 443 : 80)) } : {}),
          },
        },
        parent,
      );
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(parent, span), carrier);
      return within(
        span,
        parent,
        () => run(carrier),
        (value) => {
          const { status, failed: isFailure } = outcome(value);
          if (status !== undefined) span.setAttribute('http.response.status_code', status);
          if (isFailure) {
            span.setAttribute('error.type', status !== undefined ? String(status) : 'failed');
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
        },
      );
    },

    shutdown,
  };
}

function contextCarrier(traceparent: unknown, tracestate: unknown): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (typeof traceparent === 'string') carrier.traceparent = traceparent;
  if (typeof tracestate === 'string') carrier.tracestate = tracestate;
  return carrier;
}

function commandAttributes(c: { endpointId: string; commandType: string; commandId: number; statusCode?: number | null }): Attributes {
  return {
    'cex.endpoint_id': c.endpointId,
    'cex.command_type': c.commandType,
    'cex.command_id': c.commandId,
    ...(c.statusCode !== undefined && c.statusCode !== null ? { 'cex.status_code': c.statusCode } : {}),
  };
}

function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setAttribute('error.type', err instanceof Error ? err.name : 'error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
