/** Callers and scopes live in shared/auth; re-exported for the REST routes. */
export { authorize, SCOPES, type Caller, type Scope } from '../auth/index.js';
export { DEFAULT_TENANT } from '../tenancy/index.js';
