export { TenancyState, CONFIG_EVENTS } from './state.js';
export { DEFAULT_TENANT, fetchTektonSnapshot } from './tekton.js';
export { fetchTenants, normaliseIssuer, type TenantRecord } from './tenant-manager.js';
