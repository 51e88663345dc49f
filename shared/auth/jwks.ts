import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { UnavailableError } from '../errors/index.js';
import { fetchPeerJson } from '../tenancy/peers.js';

// Caching policy (numbers in the closing note):
// - discovery documents are kept 1 hour; a failed discovery is not retried for 30 s;
// - keys are kept 10 minutes (jose cacheMaxAge) and refetched at once on an
//   unknown `kid`, but at most once per 30 s per issuer (jose cooldownDuration),
//   so a flood of tokens with invented `kid`s costs the issuer one request per 30 s.
// The last three and the 5 s request timeout are configurable (CEX_OIDC_*,
// CEX_JWKS_*), so tests can watch a retry or a rotation without waiting minutes.
const DISCOVERY_TTL_MS = 60 * 60 * 1000;

/** Timeouts and cache times of the issuers' documents (defaults: production's). */
export interface JwksOptions {
  timeoutMs: number;
  discoveryRetryMs: number;
  cooldownMs: number;
  maxAgeMs: number;
}

const DEFAULT_JWKS_OPTIONS: JwksOptions = { timeoutMs: 5_000, discoveryRetryMs: 30_000, cooldownMs: 30_000, maxAgeMs: 10 * 60 * 1000 };

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

  constructor(private readonly options: JwksOptions = DEFAULT_JWKS_OPTIONS) {}

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
        Object.assign(current, { failedUntil: Date.now() + this.options.discoveryRetryMs, pending: undefined });
        throw err;
      },
    );
    return current.pending;
  }

  private async discover(issuer: string): Promise<JWTVerifyGetKey> {
    this.discoveries++;
    let doc: { jwks_uri?: unknown };
    try {
      doc = (await fetchPeerJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, undefined, this.options.timeoutMs)) as {
        jwks_uri?: unknown;
      };
    } catch (err) {
      // One code for an issuer that cannot be reached, whether this is the
      // failure itself or the back-off after it (the detail says which peer).
      throw new UnavailableError('ISSUER_UNREACHABLE', `the token issuer's discovery document is unavailable: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (typeof doc?.jwks_uri !== 'string') {
      throw new UnavailableError('ISSUER_BAD_DISCOVERY', 'the issuer discovery document has no jwks_uri');
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), {
      cacheMaxAge: this.options.maxAgeMs,
      cooldownDuration: this.options.cooldownMs,
      timeoutDuration: this.options.timeoutMs,
    });
  }
}
