/**
 * The function side of the nats-bridge contract (docs/architecture.md): the
 * event types and CloudEvent extensions the bridge sends and the answers it
 * takes (contract.ts), the CloudEvent headers of a forward (cloudevent.ts),
 * and the client through which functions ask the bridge for NATS requests
 * (client.ts). The bridge deployment itself is shared/nats-bridge; its
 * background jobs (callbacks, maintenance) are shared/jobs.
 */
export * from './contract.js';
export { cloudEventHeaders, functionUrl } from './cloudevent.js';
export { natsRequest } from './client.js';
