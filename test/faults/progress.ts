import type { Sql } from '../../shared/db/index.js';

/**
 * Samples how many commands of a run are EXECUTED, every 100 ms, so a
 * scenario can say when work resumed after a fault: the first sample after
 * the fault that shows more than the sample before it.
 */
export class Progress {
  private readonly samples: { at: number; executed: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly runId: string,
  ) {}

  start(): this {
    const tick = async () => {
      try {
        const [row] = await this.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM commands WHERE request_payload->>'run' = ${this.runId} AND status = 'EXECUTED'`;
        this.samples.push({ at: Date.now(), executed: row!.n });
      } catch {
        // The sampler's own connection may be cut too (pg_terminate_backend scenario).
      }
      if (this.timer) this.timer = setTimeout(tick, 100);
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Ms from `at` until executions were seen to grow past their level at `from` (default `at`). */
  resumedAfter(at: number, from = at): number | undefined {
    const base = [...this.samples].reverse().find((s) => s.at <= from)?.executed ?? 0;
    const next = this.samples.find((s) => s.at > from && s.executed > base);
    return next ? next.at - at : undefined;
  }
}
