import { createHmac, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { internalAuthHeader } from '../helpers/internal.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { startIssuer, startTenantManager, type Issuer, type TenantManager } from '../helpers/peers.js';
import { createCommand } from '../../shared/store/index.js';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import { encodeTenantUnregisteredEvent, encodeTenantUpdatedEvent } from '../../shared/protocol/index.js';

let db: TestDatabase;
let issuerA: Issuer;
let issuerB: Issuer;
let issuerC: Issuer;
let stranger: Issuer;
let tm: TenantManager;
let host: RestHost;
let second: RestHost; // another instance on the same database
let commandA: number;

const ALL = 'endpoint:update endpoint:read application:endpoint-command:read';

beforeAll(async () => {
  db = await createTestDatabase();
  [issuerA, issuerB, issuerC, stranger] = await Promise.all([startIssuer('a'), startIssuer('b'), startIssuer('c'), startIssuer('x')]);
  tm = await startTenantManager([
    { id: 'tenant-a', issuer: issuerA.issuer, status: 'AVAILABLE' },
    { id: 'tenant-b', issuer: issuerB.issuer + '/' },
    { id: 'tenant-c', issuer: issuerC.issuer, status: 'SUSPENDED' },
  ]);
  const env = { CEX_AUTH: 'on', TENANT_MANAGER_URL: tm.url };
  host = await startRestHost(db, env);
  second = await startRestHost(db, env);
  const { command } = await createCommand(db.sql, {
    tenantId: 'tenant-a',
    endpointId: 'dev-a',
    commandType: 'reboot',
    payload: 1,
    ttlMillis: 60_000,
    awaitTimeoutSeconds: 0,
    origin: 'rest',
  });
  commandA = command.commandId;
});
afterAll(async () => {
  await Promise.all([host.stop(), second.stop()]);
  await Promise.all([issuerA, issuerB, issuerC, stranger, tm].map((p) => p.close()));
  await db.drop();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function get(base: string, token: string | undefined, path = `dev-a/commands/reboot/${commandA}`) {
  return fetch(`${base}/api/v1/endpoints/${path}`, { headers: token === undefined ? {} : { authorization: token } });
}

async function code(res: Response): Promise<string> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return ((await res.json()) as { code: string }).code;
}

describe('bearer token attacks', () => {
  const cases: [string, () => Promise<string | undefined>, number, string][] = [
    ['no Authorization header', async () => undefined, 401, 'MISSING_TOKEN'],
    ['another scheme', async () => 'Basic dXNlcjpwYXNz', 401, 'MISSING_TOKEN'],
    ['garbage', async () => 'Bearer not.a.jwt', 401, 'MALFORMED_TOKEN'],
    [
      'alg: none',
      async () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: issuerA.issuer, exp: now() + 60, scope: ALL })}.`,
      401,
      'UNSUPPORTED_ALGORITHM',
    ],
    [
      'HS256 signed with the public key as the secret',
      async () => {
        const pem = createPublicKey({ key: issuerA.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
        const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: issuerA.kid })}.${b64({ iss: issuerA.issuer, exp: now() + 60, scope: ALL })}`;
        return `Bearer ${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
      },
      401,
      'UNSUPPORTED_ALGORITHM',
    ],
    ['expired', async () => `Bearer ${await issuerA.sign({ scope: ALL }, { expiresIn: now() - 3600 })}`, 401, 'TOKEN_EXPIRED'],
    [
      'not yet valid (nbf in 10 min)',
      async () => `Bearer ${await issuerA.sign({ scope: ALL }, { notBefore: now() + 600 })}`,
      401,
      'TOKEN_NOT_YET_VALID',
    ],
    ['unknown issuer', async () => `Bearer ${await stranger.sign({ scope: ALL })}`, 401, 'UNKNOWN_ISSUER'],
    ['a tenant that is not AVAILABLE', async () => `Bearer ${await issuerC.sign({ scope: ALL })}`, 401, 'UNKNOWN_ISSUER'],
    [
      'issuer A named, signed by another key with the same kid',
      async () => `Bearer ${await stranger.sign({ iss: issuerA.issuer, scope: ALL }, { kid: issuerA.kid })}`,
      401,
      'INVALID_SIGNATURE',
    ],
    ['unknown kid', async () => `Bearer ${await issuerA.sign({ scope: ALL }, { kid: 'rotated-away' })}`, 401, 'UNKNOWN_KEY'],
    ['no exp claim', async () => `Bearer ${await issuerA.sign({ scope: ALL }, { expiresIn: null })}`, 401, 'INVALID_CLAIMS'],
    [
      'a tampered payload',
      async () => {
        const [h, , s] = (await issuerA.sign({ scope: 'endpoint:read' })).split('.');
        return `Bearer ${h}.${b64({ iss: issuerA.issuer, exp: now() + 60, scope: ALL })}.${s}`;
      },
      401,
      'INVALID_SIGNATURE',
    ],
    ['missing scope', async () => `Bearer ${await issuerA.sign({ scope: 'endpoint:update' })}`, 403, 'INSUFFICIENT_SCOPE'],
    ["tenant B's valid token on tenant A's command", async () => `Bearer ${await issuerB.sign({ scope: ALL })}`, 404, 'COMMAND_NOT_FOUND'],
  ];

  it.each(cases)('%s → %s', async (_name, token, status, expected) => {
    const res = await get(host.url, await token());
    expect(res.status).toBe(status);
    expect(await code(res)).toBe(expected);
    if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('accepts a valid token of the owning tenant, with a trailing-slash issuer too', async () => {
    expect((await get(host.url, `Bearer ${await issuerA.sign({ scope: ALL })}`)).status).toBe(200);
    // Tenant B's issuer is listed with a trailing slash; its own commands are visible to it.
    const invoke = await fetch(`${host.url}/api/v1/endpoints/dev-b/commands/reboot?awaitTimeout=0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await issuerB.sign({ scope: 'endpoint:update' })}` },
    });
    expect(invoke.status).toBe(202);
    const [row] = await db.sql`SELECT tenant_id FROM commands WHERE endpoint_id = 'dev-b'`;
    expect(row!.tenant_id).toBe('tenant-b');
  });

  it('stores nothing for refused requests', async () => {
    const before = await db.sql`SELECT count(*)::int AS n FROM commands`;
    for (const token of [
      undefined,
      'Bearer x.y.z',
      `Bearer ${await stranger.sign({ scope: ALL })}`,
      `Bearer ${await issuerA.sign({ scope: 'endpoint:read' })}`,
    ]) {
      const res = await fetch(`${host.url}/api/v1/endpoints/dev-z/commands/reboot?awaitTimeout=0`, {
        method: 'POST',
        headers: token ? { authorization: token } : {},
      });
      expect([401, 403]).toContain(res.status);
    }
    const after = await db.sql`SELECT count(*)::int AS n FROM commands`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('checks the scope of each route', async () => {
    const readOnly = `Bearer ${await issuerA.sign({ scope: 'endpoint:read' })}`;
    expect((await get(host.url, readOnly)).status).toBe(200);
    expect(
      (
        await fetch(`${host.url}/api/v1/endpoints/dev-a/commands/reboot/${commandA}`, {
          method: 'DELETE',
          headers: { authorization: readOnly },
        })
      ).status,
    ).toBe(403);
    expect((await fetch(`${host.url}/api/v1/endpoints/commands/meter`, { headers: { authorization: readOnly } })).status).toBe(403);
    expect((await fetch(`${host.url}/api/v1/endpoints/commands?endpointId=dev-a`, { headers: { authorization: readOnly } })).status).toBe(
      200,
    );
  });

  // The other instance learns of it through NOTIFY cex_config; the deadline
  // only bounds the wait (its 30 s safety reload would be later still).
  it('refuses an unregistered tenant on every instance after the TLE event, and accepts it again when updated', async () => {
    const token = `Bearer ${await issuerA.sign({ scope: ALL })}`;
    expect((await get(second.url, token)).status).toBe(200);
    const event = (type: string, data: Buffer) =>
      fetch(`${host.url}/units/scmp-config-reload`, {
        method: 'POST',
        headers: {
          ...internalAuthHeader(),
          'ce-specversion': '1.0',
          'ce-id': `e-${Math.random()}`,
          'ce-source': 'test',
          'ce-type': type,
          'content-type': 'application/avro',
        },
        body: data,
      });
    const unregistered = encodeTenantUnregisteredEvent({
      correlationId: 'c1',
      timestamp: Date.now(),
      timeout: 0,
      tenantId: 'tenant-a',
      originatorReplicaId: 'tm-1',
    });
    expect((await event(EVENT_TYPES.tleUnregistered, unregistered)).status).toBe(204);
    expect(await code(await get(host.url, token))).toBe('TENANT_UNREGISTERED');
    let onSecond: Response | undefined;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      onSecond = await get(second.url, token);
      if (onSecond.status !== 200) break;
      await onSecond.body?.cancel();
    }
    expect(onSecond!.status).toBe(401);
    expect(await code(onSecond!)).toBe('TENANT_UNREGISTERED');
    const updated = encodeTenantUpdatedEvent({
      correlationId: 'c2',
      timestamp: Date.now(),
      timeout: 0,
      tenantId: 'tenant-a',
      originatorReplicaId: 'tm-1',
    });
    expect((await event(EVENT_TYPES.tleUpdated, updated)).status).toBe(204);
    expect((await get(host.url, token)).status).toBe(200);
  });

  it('rate-limits key refetches: a flood of unknown kids is refused 401 UNKNOWN_KEY and costs the issuer one JWKS request', async () => {
    // A host of its own: its key cache starts empty whatever ran before.
    const fresh = await startRestHost(db, { CEX_AUTH: 'on', TENANT_MANAGER_URL: tm.url });
    try {
      const certs = () => issuerB.hits.get('/realms/b/protocol/openid-connect/certs') ?? 0;
      const before = certs();
      const codes: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await get(fresh.url, `Bearer ${await issuerB.sign({ scope: ALL }, { kid: `bogus-${i}` })}`);
        codes.push(`${res.status} ${await code(res)}`);
      }
      expect(codes).toEqual(codes.map(() => '401 UNKNOWN_KEY'));
      // The first token made the one fetch (the cache was empty); the 29
      // unknown kids after it, within the 30 s cooldown, made none.
      expect(certs() - before).toBe(1);
      // The keys it did fetch work: a token with the issuer's real kid passes.
      expect((await get(fresh.url, `Bearer ${await issuerB.sign({ scope: ALL })}`, 'commands?endpointId=dev-b')).status).toBe(200);
      expect(certs() - before).toBe(1);
    } finally {
      await fresh.stop();
    }
  });
});

describe('CEX_AUTHZ=off', () => {
  it('authenticates but does not check scopes', async () => {
    const lax = await startRestHost(db, { CEX_AUTH: 'on', CEX_AUTHZ: 'off', TENANT_MANAGER_URL: tm.url });
    try {
      const noScope = `Bearer ${await issuerB.sign({})}`;
      expect((await fetch(`${lax.url}/api/v1/endpoints/commands?endpointId=x`, { headers: { authorization: noScope } })).status).toBe(200);
      expect((await fetch(`${lax.url}/api/v1/endpoints/commands?endpointId=x`)).status).toBe(401);
    } finally {
      await lax.stop();
    }
  });

  it('CEX_OAUTH_ISSUER alone makes a single-tenant install of tenant kaa', async () => {
    const single = await startRestHost(db, { CEX_AUTH: 'on', CEX_OAUTH_ISSUER: issuerA.issuer });
    try {
      const res = await fetch(`${single.url}/api/v1/endpoints/solo/commands/reboot?awaitTimeout=0`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await issuerA.sign({ scope: ALL })}` },
      });
      expect(res.status).toBe(202);
      const [row] = await db.sql`SELECT tenant_id FROM commands WHERE endpoint_id = 'solo'`;
      expect(row!.tenant_id).toBe('kaa');
      expect(
        (
          await fetch(`${single.url}/api/v1/endpoints/commands?endpointId=x`, {
            headers: { authorization: `Bearer ${await issuerB.sign({ scope: ALL })}` },
          })
        ).status,
      ).toBe(401);
    } finally {
      await single.stop();
    }
  });
});
