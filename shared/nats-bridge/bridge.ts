import { createPool } from '../db/index.js';
import { connectNats, type NatsHandle, type Subscription } from '../nats/index.js';
import type { Runtime } from '../runtime/index.js';
import type { BridgeContext } from './context.js';
import { CallbackDeliverer, callbackSettings, type CallbackSettings } from '../jobs/callbacks.js';
import { DEFAULT_DRAINER_SETTINGS, OutboxDrainer, type DrainerSettings } from './drainer.js';
import { DEFAULT_FORWARD_SETTINGS, type ForwardSettings } from './forward.js';
import { Inbound } from './inbound.js';
import { DEFAULT_MAINTENANCE_SETTINGS, startMaintenance, type MaintenanceSettings } from '../jobs/maintenance.js';
import type { NatsRequestDesk } from './request-route.js';
import type { LocalDrainerWake, LocalEventDesk } from '../bridge/local-events.js';
import { NatsRequests } from './requests.js';
import { bridgeRoutes } from './routes.js';
import { DEFAULT_WORK_QUEUE_LIMITS, type WorkQueueLimits } from './work-queue.js';
import { publishTraced } from '../tracing/nats.js';

/** Tunables of the bridge; production uses the defaults, tests shorten them. */
export interface BridgeSettings {
  forward: ForwardSettings;
  limits: WorkQueueLimits;
  drainer: DrainerSettings;
  maintenance: MaintenanceSettings;
  callbacks: CallbackSettings;
}

export interface Bridge {
  /** Resolves once NATS is connected and every subscription is in force on the server. */
  ready: Promise<void>;
  /** SIGTERM: see stopBridge. */
  stop(): Promise<void>;
  /** The NATS connection, once there is one (tests publish through their own). */
  nats(): NatsHandle | undefined;
}

/**
 * Starts the nats-bridge (docs/architecture.md): one named NATS connection, the
 * subscriptions of routes.ts forwarded to the functions, the outbox drainer,
 * the callback deliverer, NATS requests on behalf of functions (20/EFMP) and
 * the maintenance loops (re-push, expiry, retention). The database loops
 * start at once; NATS work starts when the connection is up (connectNats
 * waits for the server forever), and readiness stays false until then.
 */
export function startBridge(
  shared: Runtime & {
    readonly natsRequests: NatsRequestDesk;
    readonly localEvents?: LocalEventDesk;
    readonly localDrainer?: LocalDrainerWake;
  },
  overrides: Partial<BridgeSettings> = {},
): Bridge {
  // The bridge's own connection pool: in the dev host it shares the process
  // with the HTTP units, and a burst of invokes holding every pooled
  // connection must not starve the pushes (measured: 30 pushes/s under 64
  // concurrent invokes on a shared pool of 20, against ~200/s right after).
  const pool = createPool(shared.config.databaseUrl!, {
    max: shared.config.dbPoolMax,
    applicationName: `cex-${shared.unit}-bridge`,
    log: shared.log,
    // Not pipelined: with prepared, pipelined statements the drainer's pass
    // hung for good after pg_terminate_backend cut its connections, and the
    // outbox stopped moving (the fault suite's pg-terminate scenario: hung in
    // 2 runs of 2; passed with pipelining off, and passed unprepared).
    // Prepared, since every statement of the bridge repeats: parsing and
    // planning them once per connection, not per row, is what prepare buys.
    // Behind a transaction pooler (CEX_DB_POOLER) it is unprepared as well.
    prepare: shared.config.dbPooler !== 'transaction',
    pipeline: false,
  });
  // Everything else is the process's: its config, log, metrics and LISTEN connection.
  const rt: BridgeContext = {
    unit: shared.unit,
    config: shared.config,
    log: shared.log,
    metrics: shared.metrics,
    listener: shared.listener,
    sql: pool,
  };
  const settings: BridgeSettings = {
    forward: overrides.forward ?? DEFAULT_FORWARD_SETTINGS,
    limits: overrides.limits ?? DEFAULT_WORK_QUEUE_LIMITS,
    drainer: overrides.drainer ?? DEFAULT_DRAINER_SETTINGS,
    maintenance: overrides.maintenance ?? DEFAULT_MAINTENANCE_SETTINGS,
    callbacks: overrides.callbacks ?? callbackSettings(rt.config),
  };
  const { natsUrl, replicaId } = rt.config;
  if (!natsUrl) throw new Error('NATS_URL is required by the nats-bridge');
  const log = rt.log.child({ component: 'bridge' });
  let handle: NatsHandle | undefined;
  let subscriptions: Subscription[] = [];
  let stopping = false;
  // Ready once connected AND every subscription reached the server: a message
  // published right after /readyz says 200 is not lost.
  let subscribed = false;
  shared.addReadinessCheck('nats', async () => !stopping && subscribed && (handle?.connected() ?? false));

  const drainer = new OutboxDrainer(rt, () => handle, settings.drainer);
  // Writes of this process (dev host) wake the drainer directly, before their NOTIFY.
  const unwake = shared.localDrainer?.serve(drainer);
  const loops = startMaintenance(rt, () => drainer.trigger(), settings.maintenance);
  // Callbacks go over HTTP, not NATS: they are delivered even while NATS is down.
  const callbacks = new CallbackDeliverer(rt, settings.callbacks).start();
  const requests = new NatsRequests(rt.config, log);
  // POST /nats/request of this process finds these requests through its services.
  const unserve = shared.natsRequests.serve(requests, () => !stopping && (handle?.connected() ?? false));
  const inbound = new Inbound({
    config: rt.config,
    log,
    metrics: rt.metrics,
    settings: settings.forward,
    limits: settings.limits,
    ...(shared.localEvents ? { localEvents: shared.localEvents } : {}),
    publish: (subject, data) => {
      if (!handle) throw new Error('NATS is not connected');
      // A function's answer goes to the reply subject of the message it answers.
      publishTraced(handle.nc, subject, data, () => ({ traceparents: [], destination: '(reply)' }));
    },
  });

  const ready = (async () => {
    const h = await connectNats({
      servers: natsUrl,
      name: `cex-bridge-${replicaId}`,
      log: rt.log.child({ component: 'nats' }),
      auth: rt.config.natsAuth,
    });
    if (stopping) {
      await h.nc.close();
      return;
    }
    handle = h;
    subscriptions = bridgeRoutes(rt.config).map((route) =>
      h.nc.subscribe(route.subject, {
        queue: route.queue,
        callback: (err, msg) => {
          if (err) log.error({ err, subject: route.subject }, 'subscription failed');
          else inbound.receive(route, msg);
        },
      }),
    );
    // The server has every SUB once the flush's PONG is back.
    await h.nc.flush();
    subscribed = true;
    await requests.start(h.nc);
    drainer.start();
    log.info({ subjects: subscriptions.map((s) => s.getSubject()), queue: rt.config.instanceName }, 'bridge subscribed');
  })();
  ready.catch((err) => log.error({ err }, 'bridge failed to start'));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      unwake?.();
      // Leave room inside the grace period for the final drain and the NATS drain.
      const grace = rt.config.shutdownGraceMs;
      const deadline = Date.now() + grace * 0.9;
      const reserve = Math.min(3_000, grace * 0.3);
      await within(
        ready.catch(() => undefined),
        Math.min(1_000, grace * 0.1),
      );
      // 1. No new messages: UNSUB each subscription; what was delivered already still arrives.
      await within(Promise.all(subscriptions.map((s) => s.drain().catch(() => undefined))), deadline - reserve - Date.now());
      // 2. Finish in-flight and queued forwards (their answers still get published);
      //    functions' NATS requests waiting for a reply answer 503.
      unserve();
      requests.stop();
      await inbound.finish(deadline - reserve);
      // 3. Stop the loops and callbacks (an unfinished one is released for
      //    the next bridge), then one last pass over the outbox.
      await within(Promise.all([...loops.map((l) => l.stop()), drainer.stop(), callbacks.stop(deadline - reserve)]), deadline - Date.now());
      if (handle?.connected())
        await within(
          drainer
            .drain()
            .then(() => drainer.settled())
            .catch(() => 0),
          deadline - Date.now(),
        );
      // 4. Flush what was published and close.
      if (handle && !handle.nc.isClosed()) {
        const drained = await within(
          handle.nc.drain().then(
            () => true,
            () => false,
          ),
          Math.max(500, deadline - Date.now()),
        );
        if (!drained) await handle.nc.close().catch(() => undefined);
      }
      await pool.end({ timeout: 5 }).catch(() => undefined);
      log.info(inbound.backlog, 'bridge stopped');
    })());

  return { ready, stop, nats: () => handle };
}

/** Waits for `promise` at most `ms` (never rejects); true when it settled in time. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
