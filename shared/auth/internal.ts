import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/index.js';
import { CexError } from '../errors/index.js';
import type { Runtime } from '../runtime/index.js';

/**
 * The internal credential (CEX_INTERNAL_TOKEN): what the nats-bridge sends
 * with every CloudEvent it forwards, and command-submit with every
 * /nats/request to the bridge. Without it, any pod of the cluster (or any
 * client of a dev host) could POST a forged endpoint result, CIP invocation
 * or tenant unregistration straight to a function: `cluster-local` only
 * hides a Service from the public gateway.
 *
 * A bearer token rather than a signed header: the token never leaves the
 * cluster's internal hops, and a signature with a timestamp would add clock
 * coupling between the bridge and every function for no protection the
 * plain-HTTP hop does not already give away (mTLS is the answer to a
 * sniffing attacker: knative/README.md). This module imports no JWT library:
 * esp-inbound's cold start does not pay for jose.
 */

export type CredentialVerdict = 'ok' | 'missing' | 'invalid';

/** The header a sender adds; none when no token is configured (the receiver then refuses). */
export function internalAuthHeaders(config: Pick<Config, 'internalAuth'>): Record<string, string> {
  const token = config.internalAuth.token;
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * Judges an Authorization header against the accepted tokens (the current
 * one and, during a rotation, the other). Each comparison is of SHA-256
 * digests with timingSafeEqual, and every accepted token is compared, so the
 * time taken says nothing about how much of a guess was right.
 */
export function judgeInternalCredential(accepted: readonly string[], header: string | string[] | undefined): CredentialVerdict {
  const match = typeof header === 'string' ? /^Bearer +(\S+)\s*$/i.exec(header) : null;
  if (!match) return 'missing';
  const given = digest(match[1]!);
  let ok = false;
  for (const token of accepted) ok = timingSafeEqual(given, digest(token)) || ok;
  return ok ? 'ok' : 'invalid';
}

/**
 * Refuses a request to an internal route (a CloudEvent of a function, the
 * bridge's /nats/request) that does not carry an accepted credential:
 * throws 401 (answered as problem+json before anything is read or
 * changed), counts it in cex_internal_requests_refused_total and logs it.
 */
export function requireInternalCredential(rt: Runtime, unit: string, headers: IncomingHttpHeaders, remote: string | undefined): void {
  const verdict = judgeInternalCredential(rt.config.internalAuth.accepted, headers.authorization);
  if (verdict === 'ok') return;
  rt.metrics.internalRefused.inc({ unit, reason: verdict });
  rt.log.warn({ unit, reason: verdict, remote, ceType: headers['ce-type'] }, 'internal request without a valid credential refused');
  if (verdict === 'missing') {
    throw new CexError(
      'INTERNAL_CREDENTIAL_MISSING',
      `${unit} takes internal requests only, with the internal credential (Authorization: Bearer)`,
    );
  }
  throw new CexError('INTERNAL_CREDENTIAL_INVALID', `the internal credential given to ${unit} is not accepted`);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
