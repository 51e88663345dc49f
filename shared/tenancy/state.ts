import { CHANNELS, notify } from '../db/index.js';
import { UnavailableError } from '../errors/index.js';
import type { Runtime } from '../runtime/index.js';
import { coalesced } from './coalesce.js';
import {
  listRevokedTenants,
  loadTektonSnapshot,
  revokeTenant,
  restoreTenant,
  saveTektonSnapshot,
  type AppVersionEntry,
} from '../store/index.js';
import { DEFAULT_TENANT, fetchTektonSnapshot } from './tekton.js';
import { fetchTenants, normaliseIssuer } from './tenant-manager.js';

// NOTIFY cex_config payloads: what changed, so instances reload only that.
export const CONFIG_EVENTS = { tekton: 'tekton', tenants: 'tenants', revocations: 'revocations' } as const;

// Safety reload of the shared copies, in case a NOTIFY was missed.
const SAFETY_RELOAD_MS = 30_000;

/**
 * What one process knows of tenants and Tekton: app version → application →
 * tenant, issuer → tenant, and unregistered tenants. Postgres holds the shared
 * truth (written by scmp-config-reload); each instance keeps this in-memory
 * copy, reloaded on NOTIFY cex_config, after listener reconnects, and every
 * 30 s, so a change handled by one instance is in force on all within a second.
 */
export class TenancyState {
  private versions = new Map<string, AppVersionEntry>();
  private applications = new Map<string, string>();
  private issuers = new Map<string, string>();
  private revoked = new Set<string>();
  private tektonLoaded = false;
  private tenantsLoaded = false;
  private timers: NodeJS.Timeout[] = [];
  private started: Promise<void> | undefined;

  /** 17/SCMP re-fetches, coalesced: a burst of events costs one or two Tekton fetches. */
  readonly refreshTektonOnScmp = coalesced(() => this.refreshTektonFromSource('scmp'));

  constructor(private readonly rt: Runtime) {}

  /** Loads everything, subscribes to changes, and registers readiness checks (the composition root calls it once). */
  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  /** Settles once the first load after start() is done (at once when not started: nothing to wait for). */
  firstLoad(): Promise<void> {
    return this.started ?? Promise.resolve();
  }

  private stopped = false;

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
  }

  private async doStart(): Promise<void> {
    const { config } = this.rt;
    // Dependencies, not readiness: a Tenant Manager or Tekton outage must not
    // keep new pods out of service; the requests that need them answer 503.
    if (config.tekton.enabled) this.rt.addDependencyCheck('tekton', async () => this.tektonLoaded);
    if (config.auth && config.tenantManagerUrl) this.rt.addDependencyCheck('tenants', async () => this.tenantsLoaded);
    if (config.oauthIssuer && !config.tenantManagerUrl) {
      this.issuers.set(normaliseIssuer(config.oauthIssuer), DEFAULT_TENANT);
      this.tenantsLoaded = true;
    }
    const { listener } = this.rt;
    listener.onReconnect(() => this.reloadAll());
    await listener.listen(CHANNELS.config, (payload) => void this.onConfigEvent(payload));
    if (this.stopped) return;
    this.every(SAFETY_RELOAD_MS, () => this.reloadAll());
    if (config.auth && config.tenantManagerUrl) this.every(config.tenantRefreshSeconds * 1000, () => this.reloadTenants());
    await this.reloadAll();
  }

  private every(ms: number, work: () => Promise<void>): void {
    // stop() may come while start() still waits for LISTEN: no timer may outlive it.
    if (this.stopped) return;
    const timer = setInterval(() => void work(), ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** A hint names one key or several, newline-separated (notify() packs keys that way). */
  private async onConfigEvent(payload: string): Promise<void> {
    const keys = new Set(payload.split('\n'));
    await Promise.all([
      keys.has(CONFIG_EVENTS.tekton) ? this.reloadTekton() : undefined,
      keys.has(CONFIG_EVENTS.tenants) ? this.reloadTenants() : undefined,
      keys.has(CONFIG_EVENTS.revocations) ? this.reloadRevocations() : undefined,
    ]);
  }

  private async reloadAll(): Promise<void> {
    await Promise.all([this.reloadRevocations(), this.reloadTekton(), this.reloadTenants()]);
  }

  private async reloadRevocations(): Promise<void> {
    try {
      this.revoked = new Set(await listRevokedTenants(this.rt.sql));
    } catch (err) {
      this.rt.log.warn({ err: (err as Error).message }, 'reading tenant revocations failed; retrying later');
    }
  }

  /** Loads the shared Tekton copy; the first instance to find none fetches it from Tekton. */
  private async reloadTekton(): Promise<void> {
    if (!this.rt.config.tekton.enabled) return;
    try {
      let snapshot = await loadTektonSnapshot(this.rt.sql);
      if (!snapshot.fetchedAt) {
        await this.refreshTektonFromSource('start');
        snapshot = await loadTektonSnapshot(this.rt.sql);
      }
      this.versions = new Map(snapshot.versions.map((v) => [v.appVersionName, v]));
      this.applications = new Map(snapshot.applications.map((a) => [a.applicationName, a.tenantId]));
      this.tektonLoaded = !!snapshot.fetchedAt;
    } catch (err) {
      this.rt.log.warn({ err: (err as Error).message }, 'loading the Tekton configuration failed; retrying');
      // Not ready until the first load succeeds: retry soon, not at the next safety tick.
      if (!this.tektonLoaded) this.retrySoon('tekton', () => this.reloadTekton());
    }
  }

  private readonly retries = new Map<string, { timer?: NodeJS.Timeout; delayMs: number }>();

  /** Retries a first load that failed: 0.5 s doubling to 10 s, one timer per kind. */
  private retrySoon(kind: string, work: () => Promise<void>): void {
    const retry = this.retries.get(kind) ?? { delayMs: 500 };
    this.retries.set(kind, retry);
    if (retry.timer || this.stopped) return;
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      void work();
    }, retry.delayMs);
    retry.timer.unref();
    retry.delayMs = Math.min(retry.delayMs * 2, 10_000);
  }

  private async reloadTenants(): Promise<void> {
    try {
      await this.fetchTenants();
    } catch (err) {
      this.rt.log.warn({ err: (err as Error).message }, 'fetching tenants from the Tenant Manager failed; keeping the last list');
      if (!this.tenantsLoaded) this.retrySoon('tenants', () => this.reloadTenants());
    }
  }

  /** Re-reads the Tenant Manager's list (when auth uses it); throws when it cannot be read. */
  private async fetchTenants(): Promise<void> {
    const { tenantManagerUrl, serviceToken, auth, peerTimeoutMs } = this.rt.config;
    if (!auth || !tenantManagerUrl) return;
    const tenants = await fetchTenants(tenantManagerUrl, serviceToken, peerTimeoutMs);
    this.issuers = new Map(tenants.map((t) => [t.issuer, t.id]));
    this.tenantsLoaded = true;
  }

  /** Fetches Tekton's configuration, stores it for every instance, and NOTIFYs them. */
  async refreshTektonFromSource(reason: string): Promise<void> {
    const { tekton, instanceName, serviceToken, peerTimeoutMs } = this.rt.config;
    const snapshot = await fetchTektonSnapshot(tekton.url, instanceName, serviceToken, peerTimeoutMs);
    await saveTektonSnapshot(this.rt.sql, snapshot);
    await notify(this.rt.sql, CHANNELS.config, [CONFIG_EVENTS.tekton]);
    this.rt.log.info(
      { reason, versions: snapshot.versions.length, applications: snapshot.applications.length },
      'Tekton configuration fetched',
    );
  }

  /** 21/TLE unregistered: refused everywhere from now on. */
  async unregisterTenant(tenantId: string): Promise<void> {
    await revokeTenant(this.rt.sql, tenantId);
    this.revoked.add(tenantId);
    await notify(this.rt.sql, CHANNELS.config, [CONFIG_EVENTS.revocations]);
  }

  /**
   * 21/TLE updated: accepted again if it was unregistered, and the Tenant
   * Manager is re-read here and on every other instance (one hint naming both
   * keys). A Tenant Manager that cannot be read fails the event, so the
   * bridge delivers it again rather than this instance keeping a stale list.
   */
  async tenantUpdated(tenantId: string): Promise<void> {
    await restoreTenant(this.rt.sql, tenantId);
    this.revoked.delete(tenantId);
    await notify(this.rt.sql, CHANNELS.config, [CONFIG_EVENTS.revocations, CONFIG_EVENTS.tenants]);
    await this.fetchTenants();
  }

  // ---- queries (synchronous: the copy is in memory) ----
  // Until the first load, a question the copy cannot answer is a 503 for the
  // request asking it (the bridge retries events; REST callers retry), not a
  // guess and not an unready pod.

  private requireTekton(): void {
    if (this.rt.config.tekton.enabled && !this.tektonLoaded) {
      throw new UnavailableError('TEKTON_UNAVAILABLE', 'the Tekton configuration has not been loaded yet; retry');
    }
  }

  /** The tenant owning an app version's application; `kaa` when unknown or Tekton is off. */
  tenantOfAppVersion(appVersionName: string | null): string {
    if (!appVersionName || !this.rt.config.tekton.enabled) return DEFAULT_TENANT;
    this.requireTekton();
    return this.versions.get(appVersionName)?.tenantId ?? DEFAULT_TENANT;
  }

  /** With Tekton enabled only listed app versions are valid (docs/configuration.md, KAA_TEKTON_ENABLED). */
  isKnownAppVersion(appVersionName: string): boolean {
    if (!this.rt.config.tekton.enabled) return true;
    this.requireTekton();
    return this.versions.has(appVersionName);
  }

  /** With Tekton enabled, an application is known when listed for this tenant. */
  isKnownApplication(applicationName: string, tenantId: string): boolean {
    if (!this.rt.config.tekton.enabled) return true;
    this.requireTekton();
    return this.applications.get(applicationName) === tenantId;
  }

  tenantOfIssuer(issuer: string): string | undefined {
    if (!this.tenantsLoaded && this.rt.config.tenantManagerUrl) {
      throw new UnavailableError('TENANTS_UNAVAILABLE', 'the tenants have not been loaded from the Tenant Manager yet; retry');
    }
    return this.issuers.get(normaliseIssuer(issuer));
  }

  isRevoked(tenantId: string): boolean {
    return this.revoked.has(tenantId);
  }

  /** The tenants whose tokens are accepted now, with their issuers (the console's sign-in choices). */
  acceptedTenants(): { tenantId: string; issuer: string }[] {
    return [...this.issuers]
      .filter(([, tenantId]) => !this.revoked.has(tenantId))
      .map(([issuer, tenantId]) => ({ tenantId, issuer }))
      .sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  }
}
