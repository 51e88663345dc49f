/**
 * The token issuer as a peer that misbehaves or changes: an OpenID discovery
 * that never answers (the configured timeout holds: CEX gives up and says
 * 503 ISSUER_UNREACHABLE; then it backs off and does not ask again until the
 * back-off is over), and an issuer that rotates its keys (a new kid is
 * accepted at once, a removed one refused once the cached keys expire).
 * Timeouts and cache times are configured short here (CEX_OIDC_*, CEX_JWKS_*;
 * production: 5 s, 30 s, 30 s, 10 min).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startIssuer, type Issuer } from '../helpers/peers.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { waitUntil } from '../helpers/wait.js';

const ALL = 'endpoint:update endpoint:read application:endpoint-command:read';
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const list = (host: RestHost, token: string) =>
  fetch(`${host.url}/api/v1/endpoints/commands?endpointId=oidc-1`, { headers: { authorization: `Bearer ${token}` } });
const codeOf = async (res: Response) => `${res.status} ${res.status === 200 ? '' : ((await res.json()) as { code: string }).code}`.trim();

describe('OpenID discovery', () => {
  let issuer: Issuer;
  let host: RestHost;
  beforeAll(async () => {
    issuer = await startIssuer('slow');
    host = await startRestHost(db, {
      CEX_AUTH: 'on',
      CEX_OAUTH_ISSUER: issuer.issuer,
      CEX_OIDC_TIMEOUT_MS: '500',
      CEX_OIDC_RETRY_MS: '3000',
    });
  });
  afterAll(async () => {
    await host?.stop();
    await issuer?.close();
  });

  it('gives up on a discovery that never answers (503 ISSUER_UNREACHABLE), backs off, then finds the issuer again', async () => {
    const discovery = () => issuer.hits.get('/realms/slow/.well-known/openid-configuration') ?? 0;
    const token = await issuer.sign({ scope: ALL });
    issuer.hang = true;
    const res = await list(host, token);
    expect(await codeOf(res)).toBe('503 ISSUER_UNREACHABLE');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    // CEX gave up on its own: it closed the request the issuer never answered.
    await waitUntil(() => issuer.abandoned === 1, 'the hanging discovery closed by CEX');
    expect(discovery()).toBe(1);
    issuer.hang = false;
    // Backing off: refused at once, the issuer not asked again...
    expect(await codeOf(await list(host, token))).toBe('503 ISSUER_UNREACHABLE');
    expect(discovery()).toBe(1);
    // ...until the back-off is over; then one discovery, and the token passes.
    await waitUntil(async () => (await list(host, token)).status === 200, 'the issuer found again');
    expect(discovery()).toBe(2);
  });
});

describe('key rotation', () => {
  let issuer: Issuer;
  let host: RestHost;
  beforeAll(async () => {
    issuer = await startIssuer('rotating');
    host = await startRestHost(db, {
      CEX_AUTH: 'on',
      CEX_OAUTH_ISSUER: issuer.issuer,
      CEX_JWKS_COOLDOWN_MS: '0',
      CEX_JWKS_MAX_AGE_MS: '1000',
    });
  });
  afterAll(async () => {
    await host?.stop();
    await issuer?.close();
  });

  it('accepts a new kid at once, and refuses the old one once the issuer stopped publishing it and the cache expired', async () => {
    const certs = () => issuer.hits.get('/realms/rotating/protocol/openid-connect/certs') ?? 0;
    expect((await list(host, await issuer.sign({ scope: ALL }))).status).toBe(200);
    await issuer.addKey('rotating-key-2');
    const before = certs();
    // An unknown kid makes CEX fetch the keys again (cooldown 0 here): accepted.
    expect((await list(host, await issuer.sign({ scope: ALL }, { kid: 'rotating-key-2' }))).status).toBe(200);
    expect(certs()).toBe(before + 1);
    issuer.removeKey(issuer.kid);
    // Accepted from the cache until it expires; then refused with the key's own code.
    await waitUntil(
      async () => (await codeOf(await list(host, await issuer.sign({ scope: ALL })))) === '401 UNKNOWN_KEY',
      'the removed key refused',
    );
    expect((await list(host, await issuer.sign({ scope: ALL }, { kid: 'rotating-key-2' }))).status).toBe(200);
    // A key never published stays refused.
    expect(await codeOf(await list(host, await issuer.sign({ scope: ALL }, { kid: 'never-published' })))).toBe('401 UNKNOWN_KEY');
  });
});
