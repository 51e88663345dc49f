import type { IncomingMessage } from 'node:http';
import { CexError } from '../errors/index.js';
import type { Config } from '../config/index.js';
import type { TenancyState } from '../tenancy/index.js';
import { DEFAULT_TENANT } from '../tenancy/tekton.js';
import { JwksCache } from './jwks.js';
import { AuthenticationError, verifyBearer } from './verify.js';

export { AuthenticationError, ACCEPTED_ALGORITHMS } from './verify.js';
export { JwksCache } from './jwks.js';

/** The scopes of docs/rest-api.md, "Authentication and scopes". */
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

/** What authorize() uses of the process's services. */
export interface AuthServices {
  readonly config: Config;
  readonly tenancy: TenancyState;
  readonly jwks: JwksCache;
}

// Tenants are loaded when the host starts; a request arriving before the
// first load finished waits for it this long before being judged.
const FIRST_LOAD_WAIT_MS = 3000;

/**
 * Authenticates the request's bearer token and checks `scope`
 * (CEX_AUTHZ=off: authentication only; CEX_AUTH=off: tenant `kaa`, no checks).
 */
export async function authorize(rt: AuthServices, req: IncomingMessage, scope: Scope): Promise<Caller> {
  if (!rt.config.auth) return { tenantId: DEFAULT_TENANT, subject: null };
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer +([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header) : null;
  if (!match) throw new AuthenticationError('MISSING_TOKEN', 'an Authorization: Bearer <JWT> header is required');
  const { tenancy } = rt;
  await Promise.race([tenancy.firstLoad(), new Promise((r) => setTimeout(r, FIRST_LOAD_WAIT_MS).unref())]);
  const token = await verifyBearer(match[1]!, tenancy, rt.jwks);
  if (rt.config.authz && !token.scopes.has(scope)) {
    throw new CexError('INSUFFICIENT_SCOPE', `this operation needs the "${scope}" scope`);
  }
  return { tenantId: token.tenantId, subject: token.subject };
}
