/**
 * The command model and its pure rules (docs/rest-api.md, Commands): statuses, identity
 * regexes, expiry, re-push backoff, app version → application. No I/O here.
 */

export const COMMAND_STATUSES = ['PENDING', 'EXECUTED', 'EXPIRED'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const ENDPOINT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
export const COMMAND_TYPE_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const MAX_COMMAND_ID = 2_147_483_647;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface CommandRef {
  endpointId: string;
  commandType: string;
  commandId: number;
}

/** A command as the store returns it (one row of `commands`). */
export interface Command extends CommandRef {
  tenantId: string;
  status: CommandStatus;
  statusCode: number | null;
  reasonPhrase: string | null;
  requestPayload: JsonValue;
  responsePayload: JsonValue | null;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  ttlMillis: number;
  pushOnce: boolean;
  appVersionName: string | null;
  applicationName: string | null;
  origin: 'rest' | 'cip' | 'batch';
  idempotencyKey: string | null;
  cipReplySubject: string | null;
  cipCorrelationId: string | null;
  callbackUrl: string | null;
  batchTaskId: string | null;
  pushCount: number;
  lastPushedAt: Date | null;
  fetchedAt: Date | null;
  /** The W3C traceparent of the request that created it (tracing on), so its push, result and answers join that trace. */
  traceparent?: string | null;
  version: number;
}

/** The JSON body every read route returns (docs/rest-api.md, "The command descriptor"). */
export interface CommandDescriptor {
  commandId: number;
  commandType: string;
  endpointId: string;
  status: CommandStatus;
  statusCode: number | null;
  reasonPhrase: string | null;
  requestPayload: JsonValue;
  responsePayload: JsonValue | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  appVersionName: string | null;
  delivery: { pushes: number; lastPushedAt: string | null; fetchedAt: string | null };
}

export function toDescriptor(c: Command): CommandDescriptor {
  return {
    commandId: c.commandId,
    commandType: c.commandType,
    endpointId: c.endpointId,
    status: c.status,
    statusCode: c.statusCode,
    reasonPhrase: c.reasonPhrase,
    requestPayload: c.requestPayload,
    responsePayload: c.responsePayload,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    appVersionName: c.appVersionName,
    delivery: {
      pushes: c.pushCount,
      lastPushedAt: c.lastPushedAt?.toISOString() ?? null,
      fetchedAt: c.fetchedAt?.toISOString() ?? null,
    },
  };
}

export function isFinal(status: CommandStatus): boolean {
  return status !== 'PENDING';
}

/**
 * How long after creation a command becomes EXPIRED, in ms. TTL 0 means "push
 * once": the command is never outstanding, and stays PENDING only while a
 * sync caller waits (a result in that window is still recorded).
 */
export function expiryWindowMillis(ttlMillis: number, awaitTimeoutSeconds: number): number {
  return ttlMillis > 0 ? ttlMillis : awaitTimeoutSeconds * 1000;
}

/**
 * Delay before the next re-push of a command already pushed `pushCount` times:
 * initial, doubling, capped (docs/nats-protocols.md: 5 s, 10 s, 20 s, 40 s, 60 s, 60 s…).
 */
export function repushDelayMillis(pushCount: number, initialMs: number, maxMs: number): number {
  const exponent = Math.max(0, Math.min(pushCount - 1, 30));
  return Math.min(maxMs, initialMs * 2 ** exponent);
}
