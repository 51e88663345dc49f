import { natsRequestRoute, startBridge } from '../../shared/nats-bridge/index.js';
import { defineUnit } from '../../shared/host/units.js';
import type { Services } from '../../shared/roots/services.js';

/**
 * nats-bridge: the only process that speaks NATS (a long-lived Deployment,
 * minScale 1). All the work is in shared/nats-bridge (its background jobs
 * in shared/jobs); the unit's start returns the stop that SIGTERM runs
 * (shared/host/serve.ts). Its one HTTP route is
 * internal: functions ask it for NATS requests (CEX_BRIDGE_URL).
 */
export const natsBridge = defineUnit({
  name: 'nats-bridge',
  // Functions reach NATS request/reply (20/EFMP) here: POST /nats/request.
  internalRoutes: [natsRequestRoute],
  async start(rt: Services) {
    const bridge = startBridge(rt);
    return () => bridge.stop();
  },
});
