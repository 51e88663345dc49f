import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeClientData, type ExtensionData } from '../protocol/index.js';

/** CEX did not answer a ClientData in time. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

interface Pending {
  resolve(answer: ExtensionData): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

// Avro int: request ids stay within 1..2^31-1 and wrap.
const MAX_REQUEST_ID = 2_147_483_647;

/**
 * Sends ClientData the way a communication service does (4/ESP): to
 * `kaa.v1.service.{cex}.esp.ClientData`, with a NATS reply subject of this
 * replica, and matches each ExtensionData answer to its request by requestId
 * (unique per simulator, so one reply subject serves every endpoint).
 */
export class Requester {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1 + Math.floor(Math.random() * 1_000_000);

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly replySubject: string,
    private readonly appVersionName: string,
    private readonly timeoutMs: number,
  ) {}

  /** Sends one ClientData; resolves with its answer, rejects with RequestTimeoutError. */
  send(endpointId: string, resourcePath: string, payload: Buffer): Promise<ExtensionData> {
    const requestId = this.nextId;
    this.nextId = this.nextId >= MAX_REQUEST_ID ? 1 : this.nextId + 1;
    const bytes = encodeClientData({
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: this.timeoutMs,
      appVersionName: this.appVersionName,
      endpointId,
      resourcePath,
      requestId,
      payload,
      configName: null,
    });
    return new Promise<ExtensionData>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new RequestTimeoutError(`no answer to ${resourcePath} of ${endpointId} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      try {
        this.nc.publish(this.subject, bytes, { reply: this.replySubject });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Hands an answer to its request; false when nobody waits for it (late, or not ours). */
  settle(answer: ExtensionData): boolean {
    if (answer.requestId === null) return false;
    const waiting = this.pending.get(answer.requestId);
    if (!waiting) return false;
    this.pending.delete(answer.requestId);
    clearTimeout(waiting.timer);
    waiting.resolve(answer);
    return true;
  }

  /** Fails every request still waiting (at stop). */
  cancelAll(): void {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error('simulator stopped'));
      this.pending.delete(id);
    }
  }
}
