/**
 * The nats-bridge deployment: the only NATS speaker of CEX
 * (docs/architecture.md). Inbound forwarding (routes, screen, inbound,
 * forward, work-queue), outbox publishing (drainer, messages), the request
 * proxy for functions (requests, request-route), and startBridge, which
 * wires them with the background jobs of shared/jobs. What it agrees with
 * the functions is shared/bridge.
 */
export { startBridge, type Bridge, type BridgeSettings } from './bridge.js';
export type { BridgeContext } from './context.js';
export { DEFAULT_DRAINER_SETTINGS, OutboxDrainer, pushReason, type DrainerSettings } from './drainer.js';
export { DEFAULT_FORWARD_SETTINGS, parseAnswer, postEvent, type ForwardOutcome, type ForwardSettings } from './forward.js';
export { DEFAULT_WORK_QUEUE_LIMITS, WorkQueue, type WorkQueueLimits } from './work-queue.js';
export { bridgeRoutes, type BridgeRoute, type SubjectKind } from './routes.js';
export { buildCipResult, buildPush, isPublishableSubject } from './messages.js';
export { screenMessage } from './screen.js';
export { LogThrottle } from './throttle.js';
export { NatsRequests, NatsRequestTimeoutError } from './requests.js';
export { NatsRequestDesk, natsRequestRoute } from './request-route.js';
