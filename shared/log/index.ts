import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** The bindings CEX puts on log lines wherever they are known. */
export interface CommandBindings {
  correlationId?: string;
  endpointId?: string;
  commandType?: string;
  commandId?: number;
}

/** One JSON logger per process; `unit` says which function or host wrote the line. */
export function createLogger(level: string, unit: string): Logger {
  return pino({
    level,
    base: { unit },
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
