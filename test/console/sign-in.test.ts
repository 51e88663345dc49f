/**
 * Sign-in with authentication on: the console sends the operator to the
 * chosen tenant's OpenID provider (authorization code + PKCE), here local
 * issuers listed by a local Tenant Manager, and uses the token it gets for
 * the API and the live stream, keeping it in memory only. A sign-in without
 * a scope is told which one it lacks; a lapsed token (401) shows the
 * sign-in again. Screenshots: test-results/console/.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/devstack/index.js';
import type { Simulator } from '../../shared/simulator/index.js';
import { startIssuer, startTenantManager, type Issuer, type TenantManager } from '../helpers/peers.js';
import { axeViolations, launchBrowser, openPage, requestOrigins, screenshot, type Watched } from './browser.js';
import { startStage, type Stage } from './harness.js';

const CLIENT_ID = 'cex-console';
const ALL_SCOPES = 'endpoint:read endpoint:update application:endpoint-command:read';

let stage: Stage;
let browser: Browser;
let acme: Issuer;
let beta: Issuer;
let tenantManager: TenantManager;
let sim: Simulator;
let redirectUri: string;

beforeAll(async () => {
  const port = await freePort();
  redirectUri = `http://127.0.0.1:${port}/console/`;
  const login = {
    clients: { [CLIENT_ID]: { redirectUris: [redirectUri] } },
    users: {
      operator: { scope: ALL_SCOPES },
      viewer: { scope: 'endpoint:read application:endpoint-command:read' },
      // Its token is past `exp` (beyond CEX's 30 s leeway) when it arrives: a session that ended.
      lapsed: { scope: ALL_SCOPES, lifetimeSeconds: -120 },
    },
  };
  [acme, beta, browser] = await Promise.all([startIssuer('acme', { login }), startIssuer('beta', { login }), launchBrowser()]);
  tenantManager = await startTenantManager([
    { id: 'acme', issuer: acme.issuer },
    { id: 'beta', issuer: beta.issuer },
  ]);
  stage = await startStage({ PORT: String(port), CEX_AUTH: 'on', TENANT_MANAGER_URL: tenantManager.url, CEX_CONSOLE_CLIENT_ID: CLIENT_ID });
  sim = await stage.simulator();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await stage?.close();
  await Promise.all([acme?.close(), beta?.close(), tenantManager?.close()]);
});

/** From the console's sign-in page through the provider's login form, back to the console. */
async function signIn(p: Page, tenant: string, user: string): Promise<URL> {
  await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await p.getByLabel('Tenant').selectOption({ label: `${tenant} (${tenant === 'beta' ? beta.issuer : acme.issuer})` });
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByLabel('User name').waitFor();
  const authorization = new URL(p.url());
  await p.getByLabel('User name').fill(user);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL((u) => u.origin === stage.host.url);
  return authorization;
}

const liveIs = (p: Page, state: string) => p.locator(`p.live[data-state="${state}"]`).waitFor();

describe('console sign-in', () => {
  it('signs in at the chosen tenant (code + PKCE), returns to the deep link, and uses the token, held in memory only, for the API and the stream', async () => {
    const endpoint = sim.endpointIds[0]!;
    const w: Watched = await openPage(browser);
    const p = w.page;
    await p.goto(`${stage.host.url}/console/endpoints/${endpoint}`);
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(await axeViolations(p)).toEqual([]);
    await screenshot(p, 'sign-in');

    const authorization = await signIn(p, 'beta', 'operator');
    expect(authorization.origin + authorization.pathname).toBe(`${beta.url}${beta.login!.authorizationPath}`);
    const q = authorization.searchParams;
    expect(Object.fromEntries(q)).toMatchObject({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: redirectUri,
      code_challenge_method: 'S256',
    });
    expect(q.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['openid', ...ALL_SCOPES.split(' ')]));
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Back on the page the operator asked for; the code is gone from the address bar.
    await p.getByRole('heading', { level: 1, name: `Endpoint ${endpoint}` }).waitFor();
    expect(p.url()).toBe(`${stage.host.url}/console/endpoints/${endpoint}`);
    await p.getByText('Tenant beta').waitFor();
    await liveIs(p, 'live');

    await p.getByLabel('Command type').fill('unlock');
    await p.getByLabel('Payload').fill('{"door": 2}');
    await p.getByRole('button', { name: 'Invoke' }).click();
    await p.locator('tr[data-command$="/unlock/1"] .badge-executed').waitFor();

    const [token] = beta.login!.issued;
    expect(beta.login!.issued).toHaveLength(1);
    // The command is beta's: its token reads it, acme's does not see it.
    expect(await stage.command(endpoint, 'unlock', 1, token)).toMatchObject({ status: 'EXECUTED', requestPayload: { door: 2 } });
    const acmeToken = await acme.sign({ scope: ALL_SCOPES });
    expect(
      (
        await fetch(`${stage.host.url}/api/v1/endpoints/${endpoint}/commands/unlock/1`, {
          headers: { authorization: `Bearer ${acmeToken}` },
        })
      ).status,
    ).toBe(404);

    // The token went in Authorization headers (API calls and the event stream), never into a URL or storage.
    const api = w.requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/v1/'));
    expect(api.map((r) => new URL(r.url()).pathname)).toContain(`/api/v1/endpoints/${endpoint}/commands/events`);
    for (const r of api) expect((await r.allHeaders()).authorization, r.url()).toBe(`Bearer ${token}`);
    for (const r of w.requests) expect(r.url()).not.toContain(token);
    const stored = await p.evaluate('JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])');
    expect(stored).toBe('[[],[],""]');
    expect(requestOrigins(w).sort()).toEqual([stage.host.url, beta.url].sort());
    expect(w.errors).toEqual([]);
    expect(await axeViolations(p)).toEqual([]);
    await screenshot(p, 'signed-in');

    // In memory only: a reload asks to sign in again.
    await p.reload();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await p.context().close();
  }, 60_000);

  it('tells a sign-in without a scope which scope it lacks, and shows the sign-in again after a 401', async () => {
    const endpoint = sim.endpointIds[0]!;
    const w: Watched = await openPage(browser);
    const p = w.page;
    await p.goto(`${stage.host.url}/console/endpoints/${endpoint}`);
    await signIn(p, 'beta', 'viewer');
    await liveIs(p, 'live');
    await p.getByLabel('Command type').fill('unlock');
    await p.getByRole('button', { name: 'Invoke' }).click();
    await p.getByRole('alert').filter({ hasText: 'Not allowed: your sign-in lacks the scope "endpoint:update".' }).waitFor();
    expect(await axeViolations(p)).toEqual([]);
    await screenshot(p, 'not-allowed');

    await p.getByRole('button', { name: 'Sign out' }).click();
    await signIn(p, 'beta', 'lapsed');
    // Its first API call answers 401: the sign-in shows again, saying why.
    await p.getByRole('alert').filter({ hasText: 'Your session ended' }).waitFor();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(await axeViolations(p)).toEqual([]);
    await screenshot(p, 'session-ended');
    expect(w.errors).toEqual([]);
    await p.context().close();
  }, 60_000);

  it('the local provider redeems a code only with the verifier of its challenge, and only once', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const code = async (): Promise<string> => {
      const res = await fetch(`${beta.url}${beta.login!.authorizationPath}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          response_type: 'code',
          client_id: CLIENT_ID,
          redirect_uri: redirectUri,
          state: 's',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          username: 'operator',
        }),
      });
      expect(res.status).toBe(302);
      return new URL(res.headers.get('location')!).searchParams.get('code')!;
    };
    const redeem = (c: string, v: string) =>
      fetch(`${beta.url}${beta.login!.tokenPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: c,
          redirect_uri: redirectUri,
          client_id: CLIENT_ID,
          code_verifier: v,
        }),
      });
    const wrong = await redeem(await code(), randomBytes(32).toString('base64url'));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const good = await code();
    expect((await redeem(good, verifier)).status).toBe(200);
    expect((await redeem(good, verifier)).status).toBe(400);
  });
});
