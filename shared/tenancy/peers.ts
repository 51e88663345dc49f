import { UnavailableError } from '../errors/index.js';

/**
 * GET of a peer service's JSON (Tekton, the Tenant Manager), with the service
 * token when configured, a timeout, and one error class for every failure so
 * callers retry or report unreadiness the same way.
 */
export async function fetchPeerJson(url: string, serviceToken: string | undefined, timeoutMs = 5000): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (serviceToken) headers.authorization = `Bearer ${serviceToken}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new UnavailableError('PEER_UNREACHABLE', `${new URL(url).origin} did not answer: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new UnavailableError('PEER_ERROR', `${url} answered ${res.status}`);
  }
  try {
    return await res.json();
  } catch (err) {
    throw new UnavailableError('PEER_BAD_RESPONSE', `${url} did not answer JSON`, { cause: err });
  }
}
