/** Latency samples in milliseconds, from process.hrtime, and their percentiles. */
export class Samples {
  private readonly values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  /** Runs `work` and records how long it took. */
  async time<T>(work: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const result = await work();
    this.add(Number(process.hrtime.bigint() - started) / 1e6);
    return result;
  }

  get count(): number {
    return this.values.length;
  }

  percentile(p: number): number {
    if (this.values.length === 0) return NaN;
    const sorted = [...this.values].sort((a, b) => a - b);
    const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[index]!;
  }

  summary(): { p50: number; p99: number; n: number } {
    return { p50: round(this.percentile(50)), p99: round(this.percentile(99)), n: this.values.length };
  }
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `worker` on `concurrency` loops until `count` iterations were started in all. */
export async function runConcurrently(concurrency: number, count: number, worker: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        await worker(i);
      }
    }),
  );
}

/** Runs `worker` on `concurrency` loops for `ms` milliseconds; returns the iterations completed. */
export async function runFor(concurrency: number, ms: number, worker: () => Promise<void>): Promise<number> {
  const deadline = nowMs() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nowMs() < deadline) {
        await worker();
        done++;
      }
    }),
  );
  return done;
}

let lastProgress = '';
/** One progress line on stderr, rewritten in place when stderr is a terminal. */
export function progress(message: string): void {
  lastProgress = message;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K… ${message}`);
  else process.stderr.write(`… ${message}\n`);
}

export function progressDone(): void {
  if (process.stderr.isTTY && lastProgress) process.stderr.write('\r\x1b[K');
}
