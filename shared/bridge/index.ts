/**
 * The nats-bridge: the only NATS speaker of CEX (docs/architecture.md). contract.ts is
 * what it agrees with the functions; the rest is its machinery.
 */
export * from './contract.js';
export { startBridge, type Bridge, type BridgeSettings } from './bridge.js';
export { DEFAULT_DRAINER_SETTINGS, OutboxDrainer, pushReason, type DrainerSettings } from './drainer.js';
export { DEFAULT_FORWARD_SETTINGS, parseAnswer, postEvent, type ForwardOutcome, type ForwardSettings } from './forward.js';
export { DEFAULT_MAINTENANCE_SETTINGS, type MaintenanceSettings } from './maintenance.js';
export { DEFAULT_WORK_QUEUE_LIMITS, WorkQueue, type WorkQueueLimits } from './work-queue.js';
export { bridgeRoutes, type BridgeRoute, type SubjectKind } from './routes.js';
export { buildCipResult, buildPush, isPublishableSubject } from './messages.js';
export { cloudEventHeaders, functionUrl } from './cloudevent.js';
export { screenMessage } from './screen.js';
export { CallbackDeliverer, callbackBackoffMs, callbackSettings, type CallbackSettings } from './callbacks.js';
export { callbackHostAllowed, callbackSignature, postCallback, type AttemptResult, type CallbackAttempt } from './callback-post.js';
export { NatsRequests, NatsRequestTimeoutError } from './requests.js';
export { natsRequestRoute } from './request-route.js';
export { natsRequest } from './client.js';
