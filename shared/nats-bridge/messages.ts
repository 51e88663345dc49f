import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../domain/index.js';
import { encodeCommandInvocationResult, encodeExtensionData, encodeJsonPayload } from '../protocol/index.js';
import type { CipResultMessage } from '../store/index.js';

/** A push of the outstanding commands of one (endpoint, type), ready to publish. */
export interface BuiltPush {
  correlationId: string;
  bytes: Buffer;
  /** The ids the push carries, oldest first. */
  included: number[];
  /** Ids left out because one alone exceeds the NATS payload limit. */
  oversize: number[];
}

export interface PushInput {
  endpointId: string;
  commandType: string;
  appVersionName: string | null;
  /** Oldest first. */
  commands: readonly { commandId: number; payload: JsonValue }[];
  extensionInstanceName: string;
  /** The NATS server's max_payload. */
  maxBytes: number;
}

/**
 * 4/ESP ExtensionData carrying `[{"id", "payload"}]` (docs/nats-protocols.md, pushes).
 * `timeout` is 0: a push is a snapshot of the whole outstanding set, so a
 * late one does no harm (a result for a command expired since gets 410),
 * whereas a finite timeout would let the communication service drop pushes
 * merely because its clock runs ahead of ours.
 * The array is cut (oldest kept) to fit the NATS payload limit; what is cut
 * goes out with the next push, once the endpoint answered the first ones.
 */
export function buildPush(input: PushInput, nowMs = Date.now()): BuiltPush {
  const correlationId = randomUUID();
  const message = (payload: Buffer) =>
    encodeExtensionData({
      correlationId,
      timestamp: nowMs,
      timeout: 0,
      appVersionName: input.appVersionName,
      extensionInstanceName: input.extensionInstanceName,
      endpointId: input.endpointId,
      resourcePath: `/command/${input.commandType}`,
      requestId: null,
      payload,
      statusCode: 200,
      reasonPhrase: null,
    });
  // Room for the JSON: the limit minus the envelope and the bytes' length prefix.
  const budget = input.maxBytes - message(Buffer.alloc(0)).length - 10;
  const parts: string[] = [];
  const included: number[] = [];
  const oversize: number[] = [];
  let size = 2; // the brackets
  for (const c of input.commands) {
    const part = JSON.stringify({ id: c.commandId, payload: c.payload });
    const bytes = Buffer.byteLength(part) + (parts.length > 0 ? 1 : 0);
    if (Buffer.byteLength(part) + 2 > budget) {
      oversize.push(c.commandId);
      continue;
    }
    if (size + bytes > budget) break;
    parts.push(part);
    included.push(c.commandId);
    size += bytes;
  }
  return { correlationId, bytes: message(Buffer.from(`[${parts.join(',')}]`, 'utf8')), included, oversize };
}

export interface CipResultInput {
  endpointId: string;
  commandType: string;
  commandId: number;
  message: CipResultMessage;
}

/**
 * 12/CIP CommandInvocationResult for a cip_result outbox row: the caller's
 * correlationId, the endpoint's answer (payload as JSON bytes), and an empty
 * appVersionName when unknown (docs/nats-protocols.md, 12/CIP).
 */
export function buildCipResult(input: CipResultInput, nowMs = Date.now()): Buffer {
  const m = input.message;
  return encodeCommandInvocationResult({
    correlationId: m.correlationId,
    timestamp: nowMs,
    timeout: 0,
    appVersionName: m.appVersionName ?? '',
    endpointId: input.endpointId,
    commandType: input.commandType,
    commandId: input.commandId,
    statusCode: m.statusCode,
    reasonPhrase: m.reasonPhrase,
    payload: m.payload === null || m.payload === undefined ? null : encodeJsonPayload(m.payload),
  });
}

/**
 * Whether `subject` can be published to: non-empty tokens of printable
 * ASCII, no wildcards. A reply subject is the caller's input; one NATS would
 * refuse can never be answered, so its row is discarded rather than retried.
 */
export function isPublishableSubject(subject: string): boolean {
  return (
    typeof subject === 'string' && /^[\x21-\x7e]+$/.test(subject) && !/[*>]/.test(subject) && subject.split('.').every((t) => t !== '')
  );
}
