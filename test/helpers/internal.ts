import { randomBytes } from 'node:crypto';

/**
 * The internal credential (CEX_INTERNAL_TOKEN) of this test file's hosts and
 * bridges: fresh per test process, so no file can lean on another's. Tests
 * that play the bridge send it; tests of the refusal leave it out.
 */
export const TEST_INTERNAL_TOKEN = `test-internal-${randomBytes(24).toString('hex')}`;

/** The header the bridge adds to every internal request. */
export function internalAuthHeader(token = TEST_INTERNAL_TOKEN): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
