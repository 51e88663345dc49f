/**
 * Error classes of the wire layer. Each is a CexError, so the edges (1/KP
 * error payloads, CIP results, logs) can map them without special cases; each
 * decode or validation failure surfaces as exactly one of these classes.
 */
import { CexError } from '../errors/index.js';

/**
 * Bytes that are not a valid Avro encoding of the expected message (truncated,
 * trailing data, bad union index, out-of-range length or number, bad UTF-8).
 * Always `code: 'INVALID_AVRO'`; the underlying failure, if any, is `cause`.
 */
export class ProtocolDecodeError extends CexError {
  override readonly name = 'ProtocolDecodeError';
  /** Record name of the message that failed to decode, e.g. `ClientData`. */
  readonly messageType: string;

  constructor(messageType: string, message: string, options: { cause?: unknown } = {}) {
    super('INVALID_AVRO', `invalid ${messageType}: ${message}`, options);
    this.messageType = messageType;
  }
}

/**
 * A message this process tried to send does not fit its schema (a missing
 * field, an int out of range, an unsafe long). A programming error, hence 500.
 */
export class ProtocolEncodeError extends CexError {
  override readonly name = 'ProtocolEncodeError';
  readonly messageType: string;

  constructor(messageType: string, message: string, options: { cause?: unknown } = {}) {
    super('INVALID_MESSAGE', `cannot encode ${messageType}: ${message}`, options);
    this.messageType = messageType;
  }
}

/** Stable codes of PayloadError, one per kind of 11/CEP payload or path problem. */
export type PayloadErrorCode =
  | 'INVALID_UTF8'
  | 'INVALID_JSON'
  | 'JSON_TOO_DEEP'
  | 'INVALID_COMMAND_REQUEST'
  | 'INVALID_RESULT_REQUEST'
  | 'INVALID_RESOURCE_PATH'
  | 'INVALID_COMMAND_TYPE';

/**
 * An 11/CEP payload or resource path that the contract rejects. The message is
 * written for the endpoint's developer: it is sent as the 1/KP reasonPhrase.
 */
export class PayloadError extends CexError {
  override readonly name = 'PayloadError';
  declare readonly code: PayloadErrorCode;

  constructor(code: PayloadErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A NATS subject token (instance name, replica id, message type) that would corrupt the subject. */
export class SubjectError extends CexError {
  override readonly name = 'SubjectError';

  constructor(message: string) {
    super('INVALID_SUBJECT', message);
  }
}
