/**
 * Group commit for writes that many callers make at once (NotifyBatcher's
 * rule, for statements that return something): one statement in flight; the
 * inputs submitted meanwhile wait for it, then go together in the next one.
 * An idle process runs each input at once (c=1 pays nothing); under load
 * many inputs share a statement, a commit and a WAL flush.
 *
 * Two inputs that touch the same row never share a statement (their keys
 * collide): the later one waits for the next, so each statement sees every
 * key once and each input is judged after the one before it committed.
 *
 * A failed statement of several inputs is retried input by input, so one
 * bad input fails only its own caller. A statement that has not answered
 * within `stallMs` stops holding the queue (its callers keep waiting for
 * their own answer): a connection wedged by a failover cannot hold every
 * writer of the process.
 */
export interface StatementBatcherOptions<I> {
  /** The rows an input writes; inputs sharing a key go in different statements. */
  keysOf(input: I): readonly string[];
  /** How much of a statement an input takes (rows); a statement holds at most `maxSize`. */
  sizeOf(input: I): number;
  maxSize: number;
  stallMs: number;
}

interface Pending<I, O> {
  input: I;
  resolve(output: O): void;
  reject(err: unknown): void;
}

export class StatementBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private busy = false;
  /** Statements run (a retried input counts as one): what grouping saved is inputs minus this. */
  statements = 0;
  inputs = 0;

  constructor(
    /** Runs the inputs in ONE statement; returns one output per input, in order. */
    private readonly run: (inputs: readonly I[]) => Promise<readonly O[]>,
    private readonly options: StatementBatcherOptions<I>,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.busy) this.next();
    });
  }

  private next(): void {
    if (this.queue.length === 0) return;
    const batch = this.take();
    this.busy = true;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(stall);
      this.busy = false;
      this.next();
    };
    const stall = setTimeout(release, this.options.stallMs);
    void this.execute(batch).finally(release);
  }

  /** The queue's head, then every later input that fits and touches none of the taken keys; the rest keep their order. */
  private take(): Pending<I, O>[] {
    const { keysOf, sizeOf, maxSize } = this.options;
    const taken: Pending<I, O>[] = [];
    const left: Pending<I, O>[] = [];
    const keys = new Set<string>();
    let size = 0;
    for (const item of this.queue) {
      const itemKeys = keysOf(item.input);
      const itemSize = sizeOf(item.input);
      const fits = taken.length === 0 || (size + itemSize <= maxSize && !itemKeys.some((k) => keys.has(k)));
      if (!fits) {
        left.push(item);
        // A later input touching a key of a deferred one stays behind it too.
        for (const k of itemKeys) keys.add(k);
        continue;
      }
      taken.push(item);
      size += itemSize;
      for (const k of itemKeys) keys.add(k);
    }
    this.queue = left;
    return taken;
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    this.statements++;
    this.inputs += batch.length;
    try {
      const outputs = await this.run(batch.map((b) => b.input));
      batch.forEach((b, i) => b.resolve(outputs[i]!));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One input may be what failed (or a deadlock took the statement): each alone, so only its own caller sees an error.
      for (const b of batch) {
        this.statements++;
        await this.run([b.input]).then(
          (outputs) => b.resolve(outputs[0]!),
          (e: unknown) => b.reject(e),
        );
      }
    }
  }
}
