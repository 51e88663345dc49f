import type { Config } from '../config/index.js';
import { JwksCache } from '../auth/index.js';
import { LocalDrainerWake, LocalEventDesk } from '../bridge/local-events.js';
import { NotifyBatcher } from '../db/index.js';
import { CreateBatcher, ResultBatcher } from '../commands/index.js';
import { NatsRequestDesk } from '../nats-bridge/request-route.js';
import { ChangeFeed } from '../changes/index.js';
import { RecentVersions } from '../endpoint/version-cache.js';
import { createRuntime, type Runtime } from '../runtime/index.js';
import { StreamRegistry } from '../streams/index.js';
import { TenancyState } from '../tenancy/index.js';
import { WaiterRegistry } from '../waiters/index.js';

/**
 * Everything the units of one process use, built once by its composition
 * root (shared/roots/{dev-host,unit,bridge}.ts) and handed to every handler:
 * the core (config, log, pool, LISTEN connection, metrics, readiness,
 * shutdown) plus the services standing on it. Nothing here is created on
 * first use or looked up by key.
 */
export interface Services extends Runtime {
  /** Tenants, issuers and Tekton's app versions, reloaded on NOTIFY cex_config. */
  readonly tenancy: TenancyState;
  /** Signing keys of the tenants' OpenID providers. */
  readonly jwks: JwksCache;
  /** The one LISTEN on the command channel, with its safety tick and coalesced re-read. */
  readonly changes: ChangeFeed;
  /** Sync invocations waiting for their result (watch commands on `changes`). */
  readonly waiters: WaiterRegistry;
  /** SSE streams (watch commands on `changes`, subscribe to it for endpoints). */
  readonly streams: StreamRegistry;
  /** esp-inbound: app versions written lately, so a ClientData does not rewrite its own. */
  readonly recentVersions: RecentVersions;
  /** The bridge's NATS requests, served on POST /nats/request while a bridge runs in this process. */
  readonly natsRequests: NatsRequestDesk;
  /** Units of this process that take the bridge's CloudEvents (dev host): the bridge calls them without HTTP. */
  readonly localEvents: LocalEventDesk;
  /** The outbox drainer of this process, woken directly by writes when a bridge runs here (dev host). */
  readonly localDrainer: LocalDrainerWake;
  /** The writes' NOTIFY hints, one statement at a time, grouped under load. */
  readonly notifier: NotifyBatcher;
  /** Endpoints' results, one statement at a time, grouped under load. */
  readonly results: ResultBatcher;
  /** Plain REST creates, one statement at a time, grouped under load. */
  readonly creates: CreateBatcher;
}

/**
 * Builds the services of a process running `unit` (`dev-host` for all).
 * Nothing is started: startServices() does that, in the order the root
 * shows; shutdown runs their stops in reverse (Runtime.beginShutdown).
 */
export function buildServices(config: Config, unit: string): Services {
  const rt = createRuntime(config, unit);
  const { oidc } = config;
  const tenancy = new TenancyState(rt);
  const changes = new ChangeFeed({ sql: rt.sql, listener: rt.listener, log: rt.log.child({ component: 'changes' }) });
  const waiters = new WaiterRegistry({
    changes,
    maxWaiters: config.maxWaiters,
    onCountChange: (n) => rt.metrics.waitersInFlight.set(n),
  });
  const streams = new StreamRegistry({
    changes,
    sql: rt.sql,
    log: rt.log.child({ component: 'streams' }),
    onCountChange: (kind, n) => rt.metrics.liveStreams.set({ kind }, n),
  });
  // Stops run last registered first: waiters answer 202, streams end, then
  // the feed and tenancy stop. The listener and pool close in rt.close().
  rt.onShutdown(() => tenancy.stop());
  rt.onShutdown(() => changes.stop());
  rt.onShutdown(() => streams.stop());
  rt.onShutdown(() => waiters.stop());
  return Object.assign(rt, {
    tenancy,
    jwks: new JwksCache({
      timeoutMs: oidc.timeoutMs,
      discoveryRetryMs: oidc.retryMs,
      cooldownMs: oidc.jwksCooldownMs,
      maxAgeMs: oidc.jwksMaxAgeMs,
    }),
    changes,
    waiters,
    streams,
    recentVersions: new RecentVersions(),
    natsRequests: new NatsRequestDesk(),
    localEvents: new LocalEventDesk(),
    localDrainer: new LocalDrainerWake(),
    notifier: new NotifyBatcher(rt.sql),
    results: new ResultBatcher(rt.sql, () => config.tekton.enabled),
    creates: new CreateBatcher(rt.sql),
  });
}

/**
 * Starts what answers requests: tenants and Tekton load in the background
 * (readiness and the first requests wait for them), and the change feed's
 * LISTEN (waiters and streams wait for it). Neither blocks the start: both
 * retry until their dependency answers.
 */
export function startServices(services: Services): void {
  void services.tenancy.start().catch((err) => services.log.error({ err }, 'tenancy start failed'));
  void services.changes.start().catch((err) => services.log.error({ err }, 'change feed start failed'));
}
