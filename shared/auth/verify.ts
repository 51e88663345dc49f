import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { CexError, UnavailableError, type ErrorCodeWithStatus } from '../errors/index.js';
import type { TenancyState } from '../tenancy/state.js';
import type { JwksCache } from './jwks.js';

/** Asymmetric algorithms only: `none` and HMAC (HS*) are refused (docs/rest-api.md, "Authentication and scopes"). */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_LEEWAY_SECONDS = 30;

export class AuthenticationError extends CexError {
  override readonly name = 'AuthenticationError';
  constructor(code: ErrorCodeWithStatus<401>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface VerifiedToken {
  tenantId: string;
  subject: string | null;
  scopes: Set<string>;
}

/**
 * Verifies a bearer token: its `iss` must be a known, registered tenant's
 * issuer; its signature must check against that issuer's JWKS; `exp`/`nbf`
 * must hold with 30 s leeway. Every failure is a 401 with a stable code; an
 * issuer that cannot be reached is a 503 (retry), not a verdict on the token.
 */
export async function verifyBearer(token: string, tenancy: TenancyState, jwks: JwksCache): Promise<VerifiedToken> {
  let alg: unknown;
  let claims: JWTPayload;
  try {
    alg = decodeProtectedHeader(token).alg;
    claims = decodeJwt(token);
  } catch (err) {
    throw new AuthenticationError('MALFORMED_TOKEN', 'the bearer token is not a JWT', { cause: err });
  }
  if (typeof alg !== 'string' || !ACCEPTED_ALGORITHMS.includes(alg)) {
    throw new AuthenticationError(
      'UNSUPPORTED_ALGORITHM',
      `tokens signed with "${String(alg)}" are not accepted; use an asymmetric algorithm`,
    );
  }
  if (typeof claims.iss !== 'string') throw new AuthenticationError('UNKNOWN_ISSUER', 'the token has no issuer');
  const tenantId = tenancy.tenantOfIssuer(claims.iss);
  if (!tenantId) throw new AuthenticationError('UNKNOWN_ISSUER', 'the token issuer is not a known tenant');
  if (tenancy.isRevoked(tenantId)) throw new AuthenticationError('TENANT_UNREGISTERED', 'the tenant of this token is unregistered');

  let payload: JWTPayload;
  try {
    const keys = await jwks.keysFor(claims.iss);
    ({ payload } = await jwtVerify(token, keys, {
      issuer: claims.iss,
      algorithms: ACCEPTED_ALGORITHMS,
      clockTolerance: CLOCK_LEEWAY_SECONDS,
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    throw mapJoseError(err);
  }
  return { tenantId, subject: typeof payload.sub === 'string' ? payload.sub : null, scopes: scopesOf(payload) };
}

function scopesOf(payload: JWTPayload): Set<string> {
  const scope = payload.scope;
  if (typeof scope === 'string') return new Set(scope.split(' ').filter(Boolean));
  const scp = payload.scp;
  return new Set(Array.isArray(scp) ? scp.filter((s): s is string => typeof s === 'string') : []);
}

function mapJoseError(err: unknown): CexError {
  if (err instanceof CexError) return err;
  if (err instanceof errors.JWTExpired) return new AuthenticationError('TOKEN_EXPIRED', 'the token has expired', { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    const code = err.claim === 'nbf' ? 'TOKEN_NOT_YET_VALID' : 'INVALID_CLAIMS';
    return new AuthenticationError(code, `the token's "${err.claim}" claim is not valid: ${err.reason}`, { cause: err });
  }
  if (err instanceof errors.JWKSNoMatchingKey)
    return new AuthenticationError('UNKNOWN_KEY', "no key of the issuer matches the token's kid", { cause: err });
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new UnavailableError('ISSUER_UNREACHABLE', "the issuer's keys could not be fetched; retry later", { cause: err });
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new AuthenticationError('INVALID_SIGNATURE', 'the token signature does not verify', { cause: err });
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new AuthenticationError('UNSUPPORTED_ALGORITHM', 'the token algorithm is not accepted', { cause: err });
  if (err instanceof errors.JOSEError) return new AuthenticationError('INVALID_TOKEN', 'the token is not valid', { cause: err });
  // fetch failures of the JWKS URL surface as plain errors
  return new UnavailableError('ISSUER_UNREACHABLE', "the issuer's keys could not be fetched; retry later", { cause: err });
}
