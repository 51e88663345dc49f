import type { Logger } from '../log/index.js';

/**
 * A background loop: runs `work` every `intervalMs`, again at once when
 * `work` says there is more (a full batch), and as soon as possible after
 * `trigger()` (a NOTIFY). Triggers during a run are not lost: the loop runs
 * once more right after. Errors are logged, throttled, and the loop goes on.
 */
export class Loop {
  private stopped = false;
  private pending = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private lastErrorLog = 0;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<boolean | void>,
    private readonly log: Logger,
  ) {}

  /** Starts the loop; the first run happens at once. */
  start(): this {
    this.running ??= this.run();
    return this;
  }

  /** Asks for a run as soon as possible (coalesced with any other request). */
  trigger(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Stops scheduling runs and waits for the one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.pending = false;
      let again = false;
      try {
        again = (await this.work()) === true;
      } catch (err) {
        // One line per 10 s at most: a database outage must not flood the log.
        if (Date.now() - this.lastErrorLog > 10_000) {
          this.lastErrorLog = Date.now();
          this.log.warn({ err, loop: this.name }, `${this.name} failed; retrying`);
        }
      }
      if (this.stopped) break;
      if (!again && !this.pending) await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.intervalMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
