import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/index.js';
import { consoleDir } from '../../shared/console/index.js';
import { serveProcess } from '../../shared/roots/serve.js';
import { UNITS } from '../../functions/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { startIssuer, startTenantManager, type Issuer, type TenantManager } from '../helpers/peers.js';

// The console's files as the host serves them (no browser): deep links get
// index.html with a <base href>, bundles their content types and caching,
// config.json the sign-in settings. Built by `make build` into dist/console.

interface Host {
  url: string;
  stop(): Promise<void>;
}

let db: TestDatabase;
let issuer: Issuer;
let tenantManager: TenantManager;
const hosts: Host[] = [];

/** The console unit alone (its Knative Service), or every unit (the dev host). */
async function host(env: Record<string, string>, which: 'console' | 'dev' = 'console'): Promise<Host> {
  const config = loadConfig({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: uniqueInstanceName(),
    CEX_LOG_LEVEL: 'warn',
    ...env,
  });
  const units = which === 'console' ? [UNITS.find((u) => u.name === 'console')!] : UNITS.filter((u) => u.routes || u.assets);
  const { host: running } = await serveProcess(config, 'console-test', units, { devMode: which === 'dev', port: 0 });
  const h = { url: `http://127.0.0.1:${running.port}`, stop: () => running.stop() };
  hosts.push(h);
  return h;
}

beforeAll(async () => {
  [db, issuer] = await Promise.all([createTestDatabase(), startIssuer('console')]);
  const other = `${issuer.url}/realms/other`;
  tenantManager = await startTenantManager([
    { id: 'acme', issuer: issuer.issuer, status: 'AVAILABLE' },
    { id: 'beta', issuer: `${other}/` },
    { id: 'gone', issuer: 'http://127.0.0.1:9/realms/gone', status: 'DELETING' },
  ]);
});
afterAll(async () => {
  for (const h of hosts) await h.stop();
  await Promise.all([issuer?.close(), tenantManager?.close()]);
  await db?.drop();
});

const built = () => readFileSync(path.join(consoleDir(), 'index.html'), 'utf8');
const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);

describe('the console unit', () => {
  let base: string;
  beforeAll(async () => {
    base = (await host({ CEX_AUTH: 'off' })).url;
  });

  it.each([
    '/console',
    '/console/',
    '/console/endpoints/e-1',
    '/console/applications/smart-meter',
    '/console/tasks/0b7e4a52-3c0a-4b8e-9d43-51b0f8b2a9c1',
    '/console/batch',
    '/console/no/such/page',
  ])('answers %s with index.html, its <base href> at /console/, revalidated on each load', async (p) => {
    const res = await fetch(base + p);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toContain('<base href="/console/">');
    expect(html.replace(/\s*<base href="\/console\/">/, '')).toBe(built());
  });

  it('serves the hashed bundles with their content types, cached for a year', async () => {
    const assets = assetsOf(built());
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${base}/console/${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('content-type')).toBe(asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(readFileSync(path.join(consoleDir(), asset)));
      // From a deep link the relative URL resolves against <base href>, to the same file.
      expect(new URL(`./${asset}`, `${base}/console/`).pathname).toBe(`/console/${asset}`);
    }
  });

  it('answers a missing bundle 404 problem+json (never index.html as a script), HEAD without a body, other methods 405', async () => {
    const missing = await fetch(`${base}/console/assets/index-00000000.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(await missing.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const head = await fetch(`${base}/console/endpoints/e-1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/console/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('puts the ingress prefix (X-Forwarded-Prefix) into <base href> and the API base', async () => {
    const headers = { 'x-forwarded-prefix': '/cex' };
    expect(await (await fetch(`${base}/console/endpoints/e-1`, { headers })).text()).toContain('<base href="/cex/console/">');
    const config = await (await fetch(`${base}/console/config.json`, { headers })).json();
    expect(config).toEqual({ apiBase: '/cex/api/v1', auth: { mode: 'off' } });
    // A prefix that is not a plain path is ignored, not echoed into the page.
    const hostile = await (await fetch(`${base}/console/`, { headers: { 'x-forwarded-prefix': '/x"><script>alert(1)</script>' } })).text();
    expect(hostile).toContain('<base href="/console/">');
    expect(hostile).not.toContain('<script>alert');
  });

  it('serves the operations routes and nothing of the API (that is for the other units)', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const api = await fetch(`${base}/api/v1/endpoints/commands?endpointId=e-1`);
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });
});

describe('/console/config.json', () => {
  it('with CEX_OAUTH_ISSUER: sign-in at that issuer as tenant kaa, with the console client id; the CSP lets the page reach it', async () => {
    const { url } = await host({ CEX_OAUTH_ISSUER: issuer.issuer, CEX_CONSOLE_CLIENT_ID: 'ops-console' });
    const res = await fetch(`${url}/console/config.json`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      apiBase: '/api/v1',
      auth: {
        mode: 'oidc',
        clientId: 'ops-console',
        scope: 'openid endpoint:read endpoint:update application:endpoint-command:read',
        tenants: [{ tenantId: 'kaa', issuer: issuer.issuer }],
      },
    });
    const csp = (await fetch(`${url}/console/`)).headers.get('content-security-policy')!;
    expect(csp).toContain(`connect-src 'self' ${issuer.url}`);
  });

  it('with TENANT_MANAGER_URL: every accepted tenant to choose from (the unavailable one left out), default client id cex-console', async () => {
    const { url } = await host({ TENANT_MANAGER_URL: tenantManager.url });
    const config = (await (await fetch(`${url}/console/config.json`)).json()) as { auth: { clientId: string; tenants: unknown[] } };
    expect(config.auth.clientId).toBe('cex-console');
    expect(config.auth.tenants).toEqual([
      { tenantId: 'acme', issuer: issuer.issuer },
      { tenantId: 'beta', issuer: `${issuer.url}/realms/other` },
    ]);
  });

  it('is served by the dev host beside the API', async () => {
    const { url } = await host({ CEX_AUTH: 'off' }, 'dev');
    expect(await (await fetch(`${url}/console/config.json`)).json()).toEqual({ apiBase: '/api/v1', auth: { mode: 'off' } });
    expect((await fetch(`${url}/console/endpoints/e-1`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/endpoints/commands?endpointId=e-1`)).status).toBe(200);
  });
});
