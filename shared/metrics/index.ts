import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus metrics of one process. Every unit exposes the same set on
 * GET /metrics; series a unit never touches simply stay at zero.
 */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'unit' | 'route' | 'method' | 'status'>;
  commandsCreated: Counter<'origin'>;
  commandsExecuted: Counter;
  commandsExpired: Counter;
  pushes: Counter<'reason'>;
  waitersInFlight: Gauge;
  listenerReconnects: Counter;
  outboxLagSeconds: Gauge<'kind'>;
  callbacksWaiting: Gauge;
  bridgeForwardDuration: Histogram<'target' | 'outcome'>;
  natsMessages: Counter<'subject_kind' | 'outcome'>;
  callbacks: Counter<'outcome'>;
  liveStreams: Gauge<'kind'>;
  batchCommands: Counter<'source'>;
  internalRefused: Counter<'unit' | 'reason'>;
  dependencyUp: Gauge<'dependency'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpDuration: new Histogram({
      name: 'cex_http_request_duration_seconds',
      help: 'HTTP request duration by unit, route, method and status',
      labelNames: ['unit', 'route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    commandsCreated: new Counter({ name: 'cex_commands_created_total', help: 'Commands created', labelNames: ['origin'], registers }),
    commandsExecuted: new Counter({ name: 'cex_commands_executed_total', help: 'Commands that became EXECUTED', registers }),
    commandsExpired: new Counter({ name: 'cex_commands_expired_total', help: 'Commands that became EXPIRED', registers }),
    pushes: new Counter({ name: 'cex_pushes_total', help: 'ExtensionData pushes published', labelNames: ['reason'], registers }),
    waitersInFlight: new Gauge({ name: 'cex_sync_waiters', help: 'Sync invocations waiting for a result', registers }),
    listenerReconnects: new Counter({ name: 'cex_listener_reconnects_total', help: 'LISTEN connection reconnects', registers }),
    outboxLagSeconds: new Gauge({
      name: 'cex_outbox_lag_seconds',
      help: 'Age of the oldest due outbox row',
      labelNames: ['kind'],
      registers,
    }),
    callbacksWaiting: new Gauge({
      name: 'cex_callbacks_waiting',
      help: 'Result callbacks in the outbox, due or waiting to be retried (counted up to 100,000)',
      registers,
    }),
    bridgeForwardDuration: new Histogram({
      name: 'cex_bridge_forward_duration_seconds',
      help: 'Bridge forward of a NATS message to its function, by target and outcome',
      labelNames: ['target', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    }),
    natsMessages: new Counter({
      name: 'cex_nats_messages_total',
      help: 'NATS messages received by the bridge, by kind and outcome',
      labelNames: ['subject_kind', 'outcome'],
      registers,
    }),
    callbacks: new Counter({
      name: 'cex_callbacks_total',
      help: 'Result callback attempts by outcome: delivered, failed (will retry), gave_up (retry window over), refused (host not allowed)',
      labelNames: ['outcome'],
      registers,
    }),
    liveStreams: new Gauge({ name: 'cex_live_streams', help: 'Open live status (SSE) streams by kind', labelNames: ['kind'], registers }),
    batchCommands: new Counter({
      name: 'cex_batch_commands_total',
      help: 'Commands created by batch invocations, by how the endpoints were given (filter, endpoints)',
      labelNames: ['source'],
      registers,
    }),
    dependencyUp: new Gauge({
      name: 'cex_dependency_up',
      help: 'Whether a shared dependency answered its last check (1) or not (0): postgres, tenants, tekton. Not part of readiness',
      labelNames: ['dependency'],
      registers,
    }),
    internalRefused: new Counter({
      name: 'cex_internal_requests_refused_total',
      help: 'Internal requests (CloudEvents, /nats/request) refused for want of a valid internal credential, by unit and reason (missing, invalid)',
      labelNames: ['unit', 'reason'],
      registers,
    }),
  };
}
