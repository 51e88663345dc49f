/**
 * Errors are classes with a stable upper-case `code` from the closed union in
 * codes.ts, whose table gives the HTTP status (and the 1/KP statusCode where a
 * message carries the refusal); the edges (REST problem+json, 1/KP error
 * payloads, CIP results) read it there. Postgres errors are classified by
 * SQLSTATE here, nowhere else.
 */
import { httpStatusOf, type ErrorCode, type ErrorCodeWithStatus } from './codes.js';

export { ERROR_CODES, errorCodeWithStatus, httpStatusOf, isErrorCode, kpStatusOf } from './codes.js';
export type { ErrorCode, ErrorCodeSpec, ErrorCodeWithStatus } from './codes.js';

export interface CexErrorOptions {
  cause?: unknown;
  detail?: string;
}

export class CexError extends Error {
  override readonly name: string = 'CexError';
  readonly code: ErrorCode;
  /** The HTTP status, from the code's entry in ERROR_CODES. */
  readonly status: number;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: CexErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = httpStatusOf(code);
    this.code = code;
    this.detail = options.detail;
  }
}

/** 400: a parameter, header or body the contract rejects. */
export class ValidationError extends CexError {
  override readonly name = 'ValidationError';
  constructor(code: ErrorCodeWithStatus<400>, message: string, options?: CexErrorOptions) {
    super(code, message, options);
  }
}

/** 404: unknown, deleted, or another tenant's (never 403, so ids do not leak). */
export class NotFoundError extends CexError {
  override readonly name = 'NotFoundError';
  constructor(code: ErrorCodeWithStatus<404>, message: string, options?: CexErrorOptions) {
    super(code, message, options);
  }
}

/** 409: the request contradicts what is already stored. */
export class ConflictError extends CexError {
  override readonly name = 'ConflictError';
  constructor(code: ErrorCodeWithStatus<409>, message: string, options?: CexErrorOptions) {
    super(code, message, options);
  }
}

/** 503: a dependency (Postgres, NATS, a peer) cannot be reached; nothing was stored. */
export class UnavailableError extends CexError {
  override readonly name = 'UnavailableError';
  constructor(code: ErrorCodeWithStatus<503>, message: string, options?: CexErrorOptions) {
    super(code, message, options);
  }
}

export function isCexError(err: unknown): err is CexError {
  return err instanceof CexError;
}

/** What a Postgres failure means for the caller. */
export type PgErrorKind = 'unique_violation' | 'out_of_range' | 'retryable' | 'unavailable' | 'other';

// SQLSTATEs that a retry of the same transaction can fix.
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '55P03']);
// Classes and codes that mean the database is going away or unreachable.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** Classifies an error thrown by postgres.js (SQLSTATE in `code`, or a socket error). */
export function classifyPgError(err: unknown): PgErrorKind {
  if (!err || typeof err !== 'object') return 'other';
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return 'other';
  if (code === '23505') return 'unique_violation';
  // numeric_value_out_of_range: a per-endpoint command id sequence ran past its integer.
  if (code === '22003') return 'out_of_range';
  if (RETRYABLE_SQLSTATES.has(code)) return 'retryable';
  if (UNAVAILABLE_SQLSTATES.has(code) || CONNECTION_ERROR_CODES.has(code)) return 'unavailable';
  return 'other';
}

/** Turns an unexpected error into a CexError: database outages become 503, the rest 500. */
export function toCexError(err: unknown): CexError {
  if (isCexError(err)) return err;
  // jsonb cannot hold \u0000 (SQLSTATE 22P05): the payload is refused, not the server broken.
  if ((err as { code?: unknown } | null)?.code === '22P05') {
    return new ValidationError('UNSUPPORTED_JSON', 'JSON strings must not contain \\u0000', { cause: err });
  }
  // Nor can text (22021): a NUL in a reasonPhrase, app version or correlationId.
  if ((err as { code?: unknown } | null)?.code === '22021') {
    return new ValidationError('UNSUPPORTED_TEXT', 'text must not contain \\u0000', { cause: err });
  }
  const kind = classifyPgError(err);
  if (kind === 'unavailable' || kind === 'retryable') {
    return new UnavailableError('DATABASE_UNAVAILABLE', 'the database cannot be reached; nothing was stored', { cause: err });
  }
  return new CexError('INTERNAL', 'internal error', { cause: err });
}
