import type { Runtime } from '../runtime/index.js';
import type { TenancyState } from '../tenancy/index.js';

/** The scopes the console asks for at sign-in: every operation it offers (CEX-API.md §6). */
export const CONSOLE_SCOPES = ['openid', 'endpoint:read', 'endpoint:update', 'application:endpoint-command:read'];

/**
 * GET /console/config.json: what the browser needs before its first API
 * call. `apiBase` carries the ingress prefix (X-Forwarded-Prefix), so the
 * same build works at /console on the dev host and at /cex/console behind
 * the ingress. With authentication on, the issuers to sign in at: the one of
 * CEX_OAUTH_ISSUER, or every accepted tenant of the Tenant Manager's list.
 */
export interface ConsoleConfig {
  apiBase: string;
  auth: { mode: 'off' } | { mode: 'oidc'; clientId: string; scope: string; tenants: { tenantId: string; issuer: string }[] };
}

// A request arriving before the first tenant load waits this long, as a REST call does (shared/auth).
const FIRST_LOAD_WAIT_MS = 3000;

export async function consoleConfig(rt: Runtime & { readonly tenancy: TenancyState }, prefix: string): Promise<ConsoleConfig> {
  const apiBase = `${prefix}/api/v1`;
  if (!rt.config.auth) return { apiBase, auth: { mode: 'off' } };
  const { tenancy } = rt;
  await Promise.race([tenancy.firstLoad().catch(() => undefined), new Promise((r) => setTimeout(r, FIRST_LOAD_WAIT_MS).unref())]);
  return {
    apiBase,
    auth: { mode: 'oidc', clientId: rt.config.consoleClientId, scope: CONSOLE_SCOPES.join(' '), tenants: tenancy.acceptedTenants() },
  };
}

/** The origins the page may connect to besides its own: the issuers (discovery, token endpoint). */
export function issuerOrigins(config: ConsoleConfig): string[] {
  if (config.auth.mode !== 'oidc') return [];
  return [...new Set(config.auth.tenants.map((t) => new URL(t.issuer).origin))];
}
