/**
 * 12/CIP callers of the fault scenarios: N commands invoked over NATS, each
 * with its own commandId and a payload naming the run, sent again (a new
 * correlationId, same id and payload: a CIP retry) when no result came
 * within `retryAfterMs`, since core NATS may drop a request while the bridge
 * or the server is down. Every result message that arrives is recorded,
 * repeats included, so the figures can tell a lost result from a repeated one.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import * as P from '../../shared/protocol/index.js';
import { uniquePrefix } from '../helpers/nats.js';

/** One CIP command and what its caller got. */
export interface CipCall {
  n: number;
  endpointId: string;
  commandId: number;
  /** The correlationId of each request sent, in order (one per attempt). */
  attempts: string[];
  /** Every result message for this command, in arrival order. */
  results: P.CommandInvocationResult[];
}

export interface CipLoadOptions {
  natsUrl: string;
  /** CEX_INSTANCE_NAME: where requests go. */
  cex: string;
  endpointIds: readonly string[];
  /** Its own type, so the REST load's figures never count these commands. */
  commandType?: string;
  count: number;
  concurrency: number;
  /** Marks the payloads (`{cip: n, run}`), as the REST load's `run` does. */
  runId: string;
  /** No result this long after a request: send it again. A retry is harmless (same id and payload). */
  retryAfterMs?: number;
  /** Give up on a command after this long. */
  giveUpMs?: number;
  /**
   * Command n is sent once this holds (default: at once). Spreads the calls
   * over the REST load, so a fault finds CIP commands at every stage.
   */
  paceBy?: (n: number) => boolean;
}

export interface CipLoad {
  calls: CipCall[];
  commandType: string;
  /** Commands that got at least one result so far (live, for triggering faults mid-run). */
  answered(): number;
  /** Resolves when every command got a result or was given up. */
  done: Promise<CipCall[]>;
  /** Flushes (anything the server routed to us before arrives first), then closes. */
  close(): Promise<void>;
}

export const cipPayload = (n: number, runId: string) => ({ cip: n, run: runId });

/** Starts the callers on a connection of their own that reconnects for ever, as a service's would. */
export async function startCipLoad(options: CipLoadOptions): Promise<CipLoad> {
  const commandType = options.commandType ?? 'unlock';
  const nc: NatsConnection = await connect({
    servers: options.natsUrl,
    name: uniquePrefix('cip-caller'),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const reply = P.cipCommandResultReplicaSubject(uniquePrefix('cip-caller'));
  const calls: CipCall[] = Array.from({ length: options.count }, (_, n) => ({
    n,
    endpointId: options.endpointIds[n % options.endpointIds.length]!,
    commandId: n + 1,
    attempts: [],
    results: [],
  }));
  const byKey = new Map(calls.map((c) => [`${c.endpointId}/${c.commandId}`, c]));
  const wake = new Map<CipCall, () => void>();
  let answered = 0;
  nc.subscribe(reply, {
    callback: (_err, msg) => {
      let result: P.CommandInvocationResult;
      try {
        result = P.decodeCommandInvocationResult(msg.data);
      } catch {
        return;
      }
      const call = byKey.get(`${result.endpointId}/${result.commandId}`);
      if (!call || result.commandType !== commandType) return;
      if (call.results.push(result) === 1) answered++;
      wake.get(call)?.();
    },
  });
  await nc.flush();

  const retryAfterMs = options.retryAfterMs ?? 10_000;
  let closed = false;
  const invoke = async (call: CipCall) => {
    const deadline = Date.now() + (options.giveUpMs ?? 120_000);
    while (options.paceBy && !options.paceBy(call.n) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const payload = Buffer.from(JSON.stringify(cipPayload(call.n, options.runId)));
    while (call.results.length === 0 && Date.now() < deadline && !closed) {
      const correlationId = `${options.runId}-${call.n}-${call.attempts.length + 1}`;
      call.attempts.push(correlationId);
      nc.publish(
        P.cipCommandRequestSubject(options.cex),
        P.encodeCommandInvocationRequest({
          correlationId,
          timestamp: Date.now(),
          timeout: 0,
          endpointId: call.endpointId,
          commandType,
          commandId: call.commandId,
          payload,
        }),
        { reply },
      );
      // Until a result arrives, or the caller's patience runs out and it asks again.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake.set(call, resolve);
        timer = setTimeout(resolve, retryAfterMs);
      });
      clearTimeout(timer);
      wake.delete(call);
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < calls.length && !closed) await invoke(calls[next++]!);
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(() => calls);
  return {
    calls,
    commandType,
    answered: () => answered,
    done,
    close: async () => {
      closed = true;
      for (const resolve of wake.values()) resolve();
      await nc.flush().catch(() => undefined);
      await nc.drain().catch(() => undefined);
    },
  };
}
