/** The shapes the console reads from the REST API (CEX-API.md §2) and /console/config.json. */

export type Status = 'PENDING' | 'EXECUTED' | 'EXPIRED';
export const STATUSES: readonly Status[] = ['PENDING', 'EXECUTED', 'EXPIRED'];

export interface Descriptor {
  commandId: number;
  commandType: string;
  endpointId: string;
  status: Status;
  statusCode: number | null;
  reasonPhrase: string | null;
  requestPayload: unknown;
  responsePayload: unknown;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  appVersionName: string | null;
  delivery: { pushes: number; lastPushedAt: string | null; fetchedAt: string | null };
}

export interface ApplicationPage {
  content: Descriptor[];
  page: number;
  size: number;
  totalElements: number;
  totalPages: number;
  nextCursor: string | null;
}

export interface TaskCommand {
  endpointId: string;
  commandId: number;
}

export interface Task {
  taskId: string;
  commandType: string;
  filterId: string | null;
  createdAt: string;
  pendingCount: number;
  executedCount: number;
  expiredCount: number;
  pending: TaskCommand[];
  executed: TaskCommand[];
  expired: TaskCommand[];
}

export interface Tenant {
  tenantId: string;
  issuer: string;
}

export type AuthConfig = { mode: 'off' } | { mode: 'oidc'; clientId: string; scope: string; tenants: Tenant[] };

export interface ConsoleConfig {
  apiBase: string;
  auth: AuthConfig;
}

/** Patterns of CEX-API.md §2, checked before a request is sent. */
export const ENDPOINT_ID = /^[A-Za-z0-9._~-]{1,128}$/;
export const COMMAND_TYPE = /^[A-Za-z0-9_-]{1,128}$/;
