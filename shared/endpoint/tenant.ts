import type { Runtime } from '../runtime/index.js';

/** The tenant every command belongs to until Tekton maps endpoints to tenants. */
export const DEFAULT_TENANT = 'kaa';

/**
 * The tenant owning commands created from an endpoint's own traffic or from
 * 12/CIP (CEX-API.md §7: the tenant of the endpoint's application). This is
 * the seam for the Tekton issue, which will resolve endpoint → app version →
 * application → tenant here; until then every such command is tenant `kaa`,
 * the tenant CEX_AUTH=off and the single-issuer setup also use.
 */
export async function tenantOfEndpoint(_rt: Runtime, _endpointId: string): Promise<string> {
  return DEFAULT_TENANT;
}
