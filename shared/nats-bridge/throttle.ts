import type { Logger } from '../log/index.js';

/**
 * Rate-limits log lines per key (e.g. per drop reason): a flood of garbage or
 * expired messages costs a metric increment each, not a log line each. Up to
 * `perSecond` lines per key and second; the next line written says how many
 * were suppressed in between.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly perSecond = 20,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('warn', key, fields, message);
  }

  info(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('info', key, fields, message);
  }

  private write(level: 'warn' | 'info', key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= 1000) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: now, count: 0, suppressed };
      this.windows.set(key, w);
    }
    if (w.count >= this.perSecond) {
      w.suppressed++;
      return;
    }
    w.count++;
    const extra = w.suppressed > 0 ? { suppressed: w.suppressed } : {};
    w.suppressed = 0;
    this.log[level]({ ...fields, ...extra }, message);
  }
}
