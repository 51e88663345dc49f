import { pino, type Logger } from 'pino';
import { traceLogFields, tracingOn } from '../tracing/index.js';

export type { Logger } from 'pino';

/** The bindings CEX puts on log lines wherever they are known. */
export interface CommandBindings {
  correlationId?: string;
  endpointId?: string;
  commandType?: string;
  commandId?: number;
}

/**
 * One JSON logger per process; `unit` says which function or host wrote the
 * line. With tracing on (started before the logger is made), each line
 * written while a span is active carries its `trace_id` and `span_id`; off,
 * no mixin runs at all.
 */
export function createLogger(level: string, unit: string): Logger {
  return pino({
    level,
    base: { unit },
    ...(tracingOn() ? { mixin: traceLogFields } : {}),
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token'], censor: '[redacted]' },
  });
}

/** A child logger carrying the command bindings that are known; unknown ones are left out. */
export function forCommand(log: Logger, bindings: CommandBindings): Logger {
  const known = Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined && v !== null));
  return log.child(known);
}
