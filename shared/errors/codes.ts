/**
 * Every error code CEX answers with, and what each means at the edges: the
 * HTTP status of the REST problem (docs/rest-api.md) and, for the codes an
 * endpoint or a 12/CIP caller can be refused with, the 1/KP statusCode
 * (docs/nats-protocols.md). The union is closed: a code not listed here does
 * not compile, so a new code is added here with its statuses, once.
 */

/** What one code maps to; `kp` only where a 1/KP message carries the refusal. */
export interface ErrorCodeSpec {
  readonly http: number;
  readonly kp?: number;
}

// Input the contract refuses; also the statusCode of a 1/KP refusal.
const BAD_INPUT = { http: 400, kp: 400 } as const;
const UNAUTHENTICATED = { http: 401 } as const;
const FORBIDDEN = { http: 403 } as const;
const NOT_FOUND = { http: 404 } as const;
const CONFLICT = { http: 409 } as const;
const INTERNAL = { http: 500 } as const;
const BAD_GATEWAY = { http: 502 } as const;
const UNAVAILABLE = { http: 503 } as const;
const GATEWAY_TIMEOUT = { http: 504 } as const;

export const ERROR_CODES = {
  // 400: a parameter, header or body the contract rejects.
  BODY_READ_FAILED: BAD_INPUT,
  CALLBACK_HOST_NOT_ALLOWED: BAD_INPUT,
  INVALID_APP_NAME: BAD_INPUT,
  INVALID_APPLICATION_NAME: BAD_INPUT,
  INVALID_AVRO: BAD_INPUT,
  INVALID_AWAIT_TIMEOUT: BAD_INPUT,
  INVALID_BODY: BAD_INPUT,
  INVALID_CALLBACK_URL: BAD_INPUT,
  INVALID_CLOUDEVENT: BAD_INPUT,
  INVALID_COMMAND_ID: BAD_INPUT,
  INVALID_COMMAND_REQUEST: BAD_INPUT,
  INVALID_COMMAND_TTL: BAD_INPUT,
  INVALID_COMMAND_TYPE: BAD_INPUT,
  INVALID_COMMAND_TYPES: BAD_INPUT,
  INVALID_CURSOR: BAD_INPUT,
  INVALID_ENDPOINT_ID: BAD_INPUT,
  INVALID_ENDPOINT_IDS: BAD_INPUT,
  INVALID_FILTER_ID: BAD_INPUT,
  INVALID_IDEMPOTENCY_KEY: BAD_INPUT,
  INVALID_JSON: BAD_INPUT,
  INVALID_LAST_EVENT_ID: BAD_INPUT,
  INVALID_LIMIT: BAD_INPUT,
  INVALID_NATS_REQUEST: BAD_INPUT,
  INVALID_OFFSET: BAD_INPUT,
  INVALID_PAGE: BAD_INPUT,
  INVALID_PARAMETER: BAD_INPUT,
  INVALID_PATH: BAD_INPUT,
  INVALID_RESOURCE_PATH: BAD_INPUT,
  INVALID_RESULT_REQUEST: BAD_INPUT,
  INVALID_SIZE: BAD_INPUT,
  INVALID_SORT: BAD_INPUT,
  INVALID_SORT_BY: BAD_INPUT,
  INVALID_SORT_ORDER: BAD_INPUT,
  INVALID_STATUS: BAD_INPUT,
  INVALID_TASK_ID: BAD_INPUT,
  INVALID_UTF8: BAD_INPUT,
  JSON_TOO_DEEP: BAD_INPUT,
  MALFORMED_REQUEST: BAD_INPUT,
  MISSING_HOST: BAD_INPUT,
  UNKNOWN_PARAMETER: BAD_INPUT,
  // A CloudEvent type the receiving unit does not handle (esp-inbound, scmp-config-reload).
  UNSUPPORTED_EVENT_TYPE: BAD_INPUT,
  // Postgres cannot store a NUL: in a JSON string (jsonb) or in text.
  UNSUPPORTED_JSON: BAD_INPUT,
  UNSUPPORTED_TEXT: BAD_INPUT,

  // 401: no credential, or one that is not accepted (answered with WWW-Authenticate).
  INTERNAL_CREDENTIAL_INVALID: UNAUTHENTICATED,
  INTERNAL_CREDENTIAL_MISSING: UNAUTHENTICATED,
  INVALID_CLAIMS: UNAUTHENTICATED,
  INVALID_SIGNATURE: UNAUTHENTICATED,
  INVALID_TOKEN: UNAUTHENTICATED,
  MALFORMED_TOKEN: UNAUTHENTICATED,
  MISSING_TOKEN: UNAUTHENTICATED,
  TENANT_UNREGISTERED: UNAUTHENTICATED,
  TOKEN_EXPIRED: UNAUTHENTICATED,
  TOKEN_NOT_YET_VALID: UNAUTHENTICATED,
  UNKNOWN_ISSUER: UNAUTHENTICATED,
  UNKNOWN_KEY: UNAUTHENTICATED,
  UNSUPPORTED_ALGORITHM: UNAUTHENTICATED,

  // 403
  CORS_ORIGIN_NOT_ALLOWED: FORBIDDEN,
  INSUFFICIENT_SCOPE: FORBIDDEN,
  SUBJECT_NOT_ALLOWED: FORBIDDEN,

  // 404: unknown, deleted, or another tenant's (never 403, so ids do not leak).
  APPLICATION_NOT_FOUND: NOT_FOUND,
  COMMAND_NOT_FOUND: NOT_FOUND,
  ENDPOINT_NOT_FOUND: NOT_FOUND,
  NOT_FOUND: NOT_FOUND,
  ROUTE_NOT_FOUND: NOT_FOUND,
  TASK_NOT_FOUND: NOT_FOUND,
  UNIT_NOT_FOUND: NOT_FOUND,

  METHOD_NOT_ALLOWED: { http: 405 },
  REQUEST_TIMEOUT: { http: 408 },

  // 409: the request contradicts what is already stored. A 12/CIP id in use is refused with 409.
  COMMAND_ID_EXHAUSTED: CONFLICT,
  COMMAND_ID_IN_USE: { http: 409, kp: 409 },
  DUPLICATE_CORRELATION_ID: CONFLICT,
  IDEMPOTENCY_KEY_REUSED: CONFLICT,

  PAYLOAD_TOO_LARGE: { http: 413 },
  UNSUPPORTED_CHARSET: { http: 415 },
  UNSUPPORTED_MEDIA_TYPE: { http: 415 },
  FILTER_TOO_LARGE: { http: 422 },
  HEADERS_TOO_LARGE: { http: 431 },

  // 500: a programming error; the answer says "internal error" only.
  INTERNAL: INTERNAL,
  INVALID_MESSAGE: INTERNAL,
  INVALID_SUBJECT: INTERNAL,

  // 502: a peer answered something CEX cannot use.
  BRIDGE_BAD_ANSWER: BAD_GATEWAY,
  BRIDGE_REFUSED: BAD_GATEWAY,
  EFMP_BAD_RESPONSE: BAD_GATEWAY,
  EFMP_ERROR: BAD_GATEWAY,

  // 503: a dependency cannot be reached, or this instance cannot serve yet; nothing was stored.
  BRIDGE_UNAVAILABLE: UNAVAILABLE,
  CONSOLE_NOT_BUILT: UNAVAILABLE,
  DATABASE_UNAVAILABLE: UNAVAILABLE,
  ISSUER_BAD_DISCOVERY: UNAVAILABLE,
  ISSUER_UNREACHABLE: UNAVAILABLE,
  NATS_UNAVAILABLE: UNAVAILABLE,
  PEER_BAD_RESPONSE: UNAVAILABLE,
  PEER_ERROR: UNAVAILABLE,
  PEER_UNREACHABLE: UNAVAILABLE,
  SHUTTING_DOWN: UNAVAILABLE,
  TEKTON_UNAVAILABLE: UNAVAILABLE,
  TENANTS_UNAVAILABLE: UNAVAILABLE,
  TOO_MANY_WAITERS: UNAVAILABLE,

  // 504: a peer did not answer in time.
  EFMP_TIMEOUT: GATEWAY_TIMEOUT,
  NATS_REQUEST_TIMEOUT: GATEWAY_TIMEOUT,
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes whose HTTP status is `S`, e.g. `ErrorCodeWithStatus<404>` for NotFoundError. */
export type ErrorCodeWithStatus<S extends number> = {
  [K in ErrorCode]: (typeof ERROR_CODES)[K]['http'] extends S ? K : never;
}[ErrorCode];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** `value` when it is a code answered with HTTP `status` (e.g. one read from a peer's problem), else undefined. */
export function errorCodeWithStatus<S extends number>(value: unknown, status: S): ErrorCodeWithStatus<S> | undefined {
  return isErrorCode(value) && ERROR_CODES[value].http === status ? (value as ErrorCodeWithStatus<S>) : undefined;
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

/** The 1/KP statusCode a refusal with `code` is answered with; undefined when it is not a refusal (the caller retries). */
export function kpStatusOf(code: ErrorCode): number | undefined {
  const spec: ErrorCodeSpec = ERROR_CODES[code];
  return spec.kp;
}
