import type { IncomingMessage } from 'node:http';
import { CexError } from '../errors/index.js';
import type { Runtime } from '../runtime/index.js';

/** The scopes of CEX-API.md §6. */
export const SCOPES = {
  update: 'endpoint:update',
  read: 'endpoint:read',
  applicationRead: 'application:endpoint-command:read',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

/** Who is calling: every query a route runs is filtered by this tenant. */
export interface Caller {
  tenantId: string;
  subject: string | null;
}

/** The tenant used when authentication is off (CEX-API.md §6). */
export const DEFAULT_TENANT = 'kaa';

/**
 * Authenticates the request and checks `scope`. With CEX_AUTH=off every
 * caller is tenant `kaa`. Token verification arrives with the security issue;
 * until then an instance configured with auth on refuses every request
 * rather than serve it unchecked.
 */
export async function authorize(rt: Runtime, _req: IncomingMessage, _scope: Scope): Promise<Caller> {
  if (!rt.config.auth) return { tenantId: DEFAULT_TENANT, subject: null };
  throw new CexError(401, 'AUTHENTICATION_UNAVAILABLE', 'bearer token verification is not configured on this instance');
}
