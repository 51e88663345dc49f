import { defineUnit } from '../../shared/host/units.js';
import { connectNats, type NatsHandle } from '../../shared/nats/index.js';
import type { Runtime } from '../../shared/runtime/index.js';

/**
 * nats-bridge: the only process that speaks NATS. It connects in the
 * background (readiness stays false until it is connected), and drains the
 * connection on shutdown.
 */
export const natsBridge = defineUnit({
  name: 'nats-bridge',
  async start(rt: Runtime) {
    const { natsUrl, replicaId } = rt.config;
    if (!natsUrl) throw new Error('NATS_URL is required by the nats-bridge');
    let handle: NatsHandle | undefined;
    rt.addReadinessCheck('nats', async () => handle?.connected() ?? false);
    const connecting = connectNats({ servers: natsUrl, name: `cex-bridge-${replicaId}`, log: rt.log.child({ component: 'nats' }) }).then(
      (h) => (handle = h),
    );
    return async () => {
      const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000));
      const h = handle ?? (await Promise.race([connecting, timeout]));
      await h?.nc.drain().catch(() => undefined);
    };
  },
});
