import * as z from 'zod';
import { UnavailableError } from '../errors/index.js';
import { fetchPeerJson } from './peers.js';

export interface TenantRecord {
  id: string;
  issuer: string;
}

// {count, results: [{id, issuer, status, …}]}
const tenantsSchema = z.object({
  results: z.array(z.object({ id: z.string().min(1), issuer: z.string().nullish(), status: z.string().nullish() }).passthrough()),
});

/**
 * The tenants CEX accepts tokens of: listed by the Tenant Manager, with an
 * issuer, and a status that is AVAILABLE or absent (docs/rest-api.md, "Authentication and scopes").
 */
export async function fetchTenants(
  tenantManagerUrl: string,
  serviceToken: string | undefined,
  timeoutMs?: number,
): Promise<TenantRecord[]> {
  const body = await fetchPeerJson(`${tenantManagerUrl}/api/v1/tenants?limit=0`, serviceToken, timeoutMs);
  const parsed = tenantsSchema.safeParse(body);
  if (!parsed.success) throw new UnavailableError('PEER_BAD_RESPONSE', 'the Tenant Manager answered a document of an unexpected shape');
  return parsed.data.results
    .filter((t) => (t.status === undefined || t.status === null || t.status === 'AVAILABLE') && !!t.issuer)
    .map((t) => ({ id: t.id, issuer: normaliseIssuer(t.issuer!) }));
}

/** Issuers compare without a trailing slash (`iss` claims vary on it). */
export function normaliseIssuer(issuer: string): string {
  return issuer.replace(/\/+$/, '');
}
