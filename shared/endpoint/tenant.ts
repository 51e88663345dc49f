import type { Runtime } from '../runtime/index.js';
import { readEndpointAppVersion } from '../store/index.js';
import type { TenancyState } from '../tenancy/index.js';

export { DEFAULT_TENANT } from '../tenancy/index.js';

/**
 * The tenant owning commands created from an endpoint's own traffic or from
 * 12/CIP (docs/rest-api.md, "The REST peers CEX calls"): endpoint → its last known app version → Tekton's
 * application → that application's tenant; `kaa` when any link is unknown or
 * Tekton is off.
 */
export async function tenantOfEndpoint(rt: Runtime & { readonly tenancy: TenancyState }, endpointId: string): Promise<string> {
  const { tenancy } = rt;
  if (!rt.config.tekton.enabled) return tenancy.tenantOfAppVersion(null);
  return tenancy.tenantOfAppVersion(await readEndpointAppVersion(rt.sql, endpointId));
}
