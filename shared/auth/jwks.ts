import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { UnavailableError } from '../errors/index.js';
import { fetchPeerJson } from '../tenancy/peers.js';

// Caching policy (numbers in the closing note):
// - discovery documents are kept 1 hour; a failed discovery is not retried for 30 s;
// - keys are kept 10 minutes (jose cacheMaxAge) and refetched at once on an
//   unknown `kid`, but at most once per 30 s per issuer (jose cooldownDuration),
//   so a flood of tokens with invented `kid`s costs the issuer one request per 30 s.
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const DISCOVERY_FAILURE_BACKOFF_MS = 30_000;
const JWKS_CACHE_MAX_AGE_MS = 10 * 60 * 1000;
const JWKS_COOLDOWN_MS = 30_000;

interface IssuerKeys {
  keys?: JWTVerifyGetKey;
  expiresAt: number;
  failedUntil?: number;
  pending?: Promise<JWTVerifyGetKey>;
}

/** Per-issuer JWKS resolvers found through OpenID discovery. */
export class JwksCache {
  private readonly issuers = new Map<string, IssuerKeys>();

  /** Counts discovery fetches (tests and metrics). */
  discoveries = 0;

  async keysFor(issuer: string): Promise<JWTVerifyGetKey> {
    const now = Date.now();
    let entry = this.issuers.get(issuer);
    if (entry?.keys && entry.expiresAt > now) return entry.keys;
    if (entry?.failedUntil && entry.failedUntil > now) {
      throw new UnavailableError('ISSUER_UNREACHABLE', `the token issuer's discovery document is unavailable; retry later`);
    }
    if (!entry) this.issuers.set(issuer, (entry = { expiresAt: 0 }));
    const current = entry;
    current.pending ??= this.discover(issuer).then(
      (keys) => {
        Object.assign(current, { keys, expiresAt: Date.now() + DISCOVERY_TTL_MS, failedUntil: undefined, pending: undefined });
        return keys;
      },
      (err) => {
        Object.assign(current, { failedUntil: Date.now() + DISCOVERY_FAILURE_BACKOFF_MS, pending: undefined });
        throw err;
      },
    );
    return current.pending;
  }

  private async discover(issuer: string): Promise<JWTVerifyGetKey> {
    this.discoveries++;
    const doc = (await fetchPeerJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, undefined)) as { jwks_uri?: unknown };
    if (typeof doc?.jwks_uri !== 'string') {
      throw new UnavailableError('ISSUER_BAD_DISCOVERY', 'the issuer discovery document has no jwks_uri');
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), {
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      timeoutDuration: 5000,
    });
  }
}
