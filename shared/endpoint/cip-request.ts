/**
 * Pure checks and answers of 12/CIP (docs/nats-protocols.md): what makes a
 * CommandInvocationRequest invalid, and the CommandInvocationResult CEX sends
 * at once when it refuses one.
 */
import { COMMAND_TYPE_PATTERN, ENDPOINT_ID_PATTERN, MAX_COMMAND_ID, type JsonValue } from '../domain/index.js';
import { encodeCommandInvocationResult, parseJsonPayload, PayloadError, type CommandInvocationRequest } from '../protocol/index.js';

/** A request that passed every check, with its payload parsed. */
export interface ValidCipRequest {
  ok: true;
  payload: JsonValue;
}

/** A refused request: the status and reason of the immediate result. */
export interface RefusedCipRequest {
  ok: false;
  statusCode: number;
  reasonPhrase: string;
}

/**
 * Checks ids, type and payload. A null payload is the JSON value null (the
 * command carries no data); non-null bytes must be JSON (an empty byte
 * string is not). Payloads above `maxPayloadBytes` are refused with 413, the
 * code REST invoke uses for the same limit.
 */
export function checkCipRequest(request: CommandInvocationRequest, maxPayloadBytes: number): ValidCipRequest | RefusedCipRequest {
  const refuse = (reasonPhrase: string, statusCode = 400): RefusedCipRequest => ({ ok: false, statusCode, reasonPhrase });
  if (!ENDPOINT_ID_PATTERN.test(request.endpointId)) {
    return refuse('invalid endpointId; it must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", "~" or "-"');
  }
  if (!COMMAND_TYPE_PATTERN.test(request.commandType)) {
    return refuse('invalid commandType; it must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"');
  }
  if (!Number.isInteger(request.commandId) || request.commandId < 1 || request.commandId > MAX_COMMAND_ID) {
    return refuse(`invalid commandId ${request.commandId}; it must be an integer from 1 to ${MAX_COMMAND_ID}`);
  }
  if (request.payload === null) return { ok: true, payload: null };
  if (request.payload.length > maxPayloadBytes) {
    return refuse(`payload is larger than ${maxPayloadBytes} bytes`, 413);
  }
  try {
    return { ok: true, payload: parseJsonPayload(request.payload) as JsonValue };
  } catch (err) {
    if (err instanceof PayloadError) return refuse(err.message);
    throw err;
  }
}

/** Encodes the immediate CommandInvocationResult refusing `request` (no app version: ''). */
export function encodeCipRefusal(request: CommandInvocationRequest, statusCode: number, reasonPhrase: string, now = Date.now()): Buffer {
  return encodeCommandInvocationResult({
    correlationId: request.correlationId,
    timestamp: now,
    timeout: 0,
    appVersionName: '',
    endpointId: request.endpointId,
    commandType: request.commandType,
    commandId: request.commandId,
    statusCode,
    reasonPhrase,
    payload: null,
  });
}
