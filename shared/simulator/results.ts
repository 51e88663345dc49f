import type { ExtensionData } from '../protocol/index.js';
import { RequestTimeoutError, type Requester } from './requester.js';
import type { SimulatorStats } from './types.js';

/** One 11/CEP result item as sent to `/result/{type}`. */
export interface ResultItem {
  id: number;
  statusCode: number;
  reasonPhrase?: string;
  payload?: unknown;
}

/** Told when CEX answered a result message: its ids, when it was sent and answered (performance.now()). */
export type ResultAnsweredHook = (endpointId: string, commandType: string, ids: number[], sentAt: number, answeredAt: number) => void;

/** Counts work in flight, so callers can wait until there is none. */
export class WorkTracker {
  private count = 0;
  private waiters: (() => void)[] = [];

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

interface Queue {
  endpointId: string;
  commandType: string;
  items: ResultItem[];
}

/**
 * Sends results as the official clients do, but batched: results of one
 * (endpoint, type) that are ready within `batchWindowMs` of each other go out
 * as one JSON array, one ClientData for many commands (CEX records them in
 * one transaction). An unanswered message is sent again, up to `attempts`;
 * a result given up on is sent once more when CEX pushes its command again
 * (resend), as a device that answers by id does: CEX was down, not the device.
 */
export class ResultSender {
  private readonly queues = new Map<string, Queue>();
  // Per `endpoint/type/id`: the result and whether CEX has answered it yet.
  private readonly sent = new Map<string, { item: ResultItem; delivered: boolean | undefined; accepted?: boolean }>();

  constructor(
    private readonly requester: Requester,
    private readonly stats: SimulatorStats,
    private readonly tracker: WorkTracker,
    private readonly batchWindowMs: number,
    private readonly attempts: number,
    private readonly onAnswered?: ResultAnsweredHook,
  ) {}

  add(endpointId: string, commandType: string, item: ResultItem): void {
    this.sent.set(`${endpointId}/${commandType}/${item.id}`, { item, delivered: undefined });
    const key = `${endpointId}/${commandType}`;
    const queue = this.queues.get(key);
    if (queue) {
      queue.items.push(item);
      return;
    }
    this.queues.set(key, { endpointId, commandType, items: [item] });
    void this.tracker.run(async () => {
      // 0: the results of this turn of the event loop go together, without
      // the 1 ms a setTimeout(0) would add to every round trip.
      await new Promise((resolve) => (this.batchWindowMs > 0 ? setTimeout(resolve, this.batchWindowMs) : setImmediate(resolve)));
      const due = this.queues.get(key)!;
      this.queues.delete(key);
      await this.send(due);
    });
  }

  /**
   * Sends the result of a command executed earlier again if no answer to it
   * ever came (every attempt timed out). True when it was queued again; the
   * command itself is never executed twice.
   */
  resend(endpointId: string, commandType: string, commandId: number): boolean {
    const entry = this.sent.get(`${endpointId}/${commandType}/${commandId}`);
    if (entry?.delivered !== false) return false;
    this.stats.resultsResent++;
    this.add(endpointId, commandType, entry.item);
    return true;
  }

  private async send(queue: Queue): Promise<void> {
    const body = Buffer.from(JSON.stringify(queue.items), 'utf8');
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        this.stats.resultMessagesSent++;
        const sentAt = performance.now();
        const answer = await this.requester.send(queue.endpointId, `/result/${queue.commandType}`, body);
        this.onAnswered?.(
          queue.endpointId,
          queue.commandType,
          queue.items.map((i) => i.id),
          sentAt,
          performance.now(),
        );
        this.mark(queue, true);
        this.count(queue, answer);
        return;
      } catch (err) {
        if (err instanceof RequestTimeoutError) this.stats.requestsTimedOut++;
        else break;
      }
    }
    this.mark(queue, false);
    this.stats.resultsUndelivered += queue.items.length;
  }

  private mark(queue: Queue, delivered: boolean): void {
    for (const item of queue.items) {
      const entry = this.sent.get(`${queue.endpointId}/${queue.commandType}/${item.id}`);
      if (entry) entry.delivered = delivered;
    }
  }

  /** Whether CEX answered 200 to a message carrying this command's result. */
  accepted(endpointId: string, commandType: string, commandId: number): boolean {
    return this.sent.get(`${endpointId}/${commandType}/${commandId}`)?.accepted === true;
  }

  /** Splits a message's results into accepted and refused from CEX's answer. */
  private count(queue: Queue, answer: ExtensionData): void {
    const items = queue.items;
    if (answer.statusCode === 200) {
      this.stats.resultsAccepted += items.length;
      for (const item of items) {
        const entry = this.sent.get(`${queue.endpointId}/${queue.commandType}/${item.id}`);
        if (entry) entry.accepted = true;
      }
      return;
    }
    const code = String(answer.statusCode);
    this.stats.errorAnswers[code] = (this.stats.errorAnswers[code] ?? 0) + 1;
    // The reason names the refused ids; a 400 refuses the whole message.
    const named = new Set((answer.reasonPhrase ?? '').match(/\d+/g)?.map(Number) ?? []);
    const refused = answer.statusCode === 400 ? items.length : items.filter((i) => named.has(i.id)).length || items.length;
    this.stats.resultsRefused += refused;
    this.stats.resultsAccepted += items.length - refused;
  }
}
