import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { tracePublish, tracingOn, type PublishTrace } from './index.js';

/**
 * `nc.publish(subject, bytes)`, and with tracing on a producer span whose
 * W3C context (`traceparent`, `tracestate`) travels in the message's
 * headers. `trace` is called only when tracing is on, so a publish with
 * tracing off builds nothing.
 */
export function publishTraced(
  nc: NatsConnection,
  subject: string,
  bytes: Uint8Array,
  trace: () => Omit<PublishTrace, 'subject' | 'bytes'>,
  options?: { reply?: string },
): void {
  const carrier = tracingOn() ? tracePublish({ subject, bytes: bytes.length, ...trace() }) : undefined;
  if (carrier === undefined || Object.keys(carrier).length === 0) return nc.publish(subject, bytes, options);
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(carrier)) headers.set(name, value);
  nc.publish(subject, bytes, { ...options, headers });
}

/**
 * The W3C trace context a received message carries in its headers, read at
 * once (the headers are parsed from the socket's chunk, which a queued
 * message must not keep alive). Undefined when tracing is off or there is none.
 */
export function messageTraceContext(msg: Msg): Record<string, string> | undefined {
  if (!tracingOn() || !msg.headers) return undefined;
  const traceparent = msg.headers.get('traceparent');
  if (!traceparent) return undefined;
  const tracestate = msg.headers.get('tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
