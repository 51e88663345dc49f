/**
 * Background jobs the bridge deployment runs beside its NATS work: result
 * callbacks over HTTP (callbacks, callback-post) and database maintenance
 * (re-push, expiry, retention, outbox lag), each a Loop that one replica at
 * a time advances through row leases.
 */
export { CallbackDeliverer, callbackBackoffMs, callbackSettings, type CallbackSettings } from './callbacks.js';
export { callbackHostAllowed, callbackSignature, postCallback, type AttemptResult, type CallbackAttempt } from './callback-post.js';
export { DEFAULT_MAINTENANCE_SETTINGS, startMaintenance, type MaintenanceSettings } from './maintenance.js';
export { Loop } from './loop.js';
