/**
 * The app versions this process wrote for endpoints lately. Every ClientData
 * names its endpoint's app version; writing it each time was one statement
 * per message for a value that almost never changes. A version seen and
 * stored within the last minute is not written again. Bounded (LRU by
 * insertion order) so a fleet of millions cannot grow it without limit; the
 * minute bounds how long a change made elsewhere (9/ELCE on another
 * instance) can be masked by a stale entry.
 */
export class RecentVersions {
  private readonly entries = new Map<string, { version: string; at: number }>();

  constructor(
    private readonly maxEntries = 50_000,
    private readonly ttlMs = 60_000,
  ) {}

  /** True when `version` was stored for `endpointId` within the TTL. */
  has(endpointId: string, version: string, now = Date.now()): boolean {
    const entry = this.entries.get(endpointId);
    return !!entry && entry.version === version && now - entry.at < this.ttlMs;
  }

  remember(endpointId: string, version: string, now = Date.now()): void {
    this.entries.delete(endpointId);
    this.entries.set(endpointId, { version, at: now });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
