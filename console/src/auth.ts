import type { AuthConfig, Tenant } from './types.js';

/**
 * Sign-in at the tenant's OpenID provider: authorization code with PKCE
 * (S256), a public client (CEX_CONSOLE_CLIENT_ID). The access token lives in
 * this module's memory only: never in storage, a URL or a log. Only the PKCE
 * verifier and the state survive the redirect, in sessionStorage, and are
 * removed when the provider sends the user back. A reload therefore asks to
 * sign in again (the provider's own session usually makes that one click).
 */

const PENDING_KEY = 'cex-console-sign-in';

interface Pending {
  state: string;
  verifier: string;
  tenant: Tenant;
  tokenEndpoint: string;
  redirectUri: string;
  returnTo: string;
}

type OidcConfig = Extract<AuthConfig, { mode: 'oidc' }>;

class Auth {
  private config: OidcConfig | null = null;
  private accessToken: string | null = null;
  private tenant: Tenant | null = null;
  private readonly listeners = new Set<() => void>();
  /** Why the sign-in shows (the session ended), for the sign-in page. */
  reason: string | null = null;

  configure(config: AuthConfig): void {
    this.config = config.mode === 'oidc' ? config : null;
  }

  /** True when the API wants a token (CEX_AUTH on). */
  get required(): boolean {
    return this.config !== null;
  }

  get tenants(): Tenant[] {
    return this.config?.tenants ?? [];
  }

  token(): string | null {
    return this.accessToken;
  }

  signedInTenant(): Tenant | null {
    return this.accessToken ? this.tenant : null;
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** A 401: forget the token and show the sign-in again. */
  expired(detail: string): void {
    if (!this.required || !this.accessToken) return;
    this.accessToken = null;
    this.reason = `Your session ended (${detail}). Sign in again.`;
    this.emit();
  }

  signOut(): void {
    this.accessToken = null;
    this.reason = null;
    this.emit();
  }

  /** Sends the browser to the tenant's authorization endpoint. */
  async signIn(tenant: Tenant, returnTo: string): Promise<void> {
    if (!this.config) return;
    const provider = await discover(tenant.issuer);
    const verifier = randomString(48);
    const state = randomString(24);
    const redirectUri = new URL('./', document.baseURI).href;
    const pending: Pending = { state, verifier, tenant, tokenEndpoint: provider.token_endpoint, redirectUri, returnTo };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(provider.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: redirectUri,
      scope: this.config.scope,
      state,
      code_challenge: await s256(verifier),
      code_challenge_method: 'S256',
    }).toString();
    location.assign(url.href);
  }

  /**
   * When the provider sent the user back (?code=…&state=…, or ?error=…),
   * exchanges the code for a token and puts back the page the user was on,
   * without the code in the address bar. False when this load is no such answer.
   */
  async completeSignIn(): Promise<boolean> {
    const params = new URLSearchParams(location.search);
    const state = params.get('state');
    if (!this.config || !state || !(params.has('code') || params.has('error'))) return false;
    const raw = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    const pending = raw ? (JSON.parse(raw) as Pending) : null;
    history.replaceState(null, '', pending?.returnTo ?? new URL('./', document.baseURI).pathname);
    if (!pending || pending.state !== state) throw new Error('The sign-in answer does not match a sign-in started here. Sign in again.');
    const error = params.get('error');
    if (error) throw new Error(`The sign-in was refused: ${params.get('error_description') ?? error}`);
    const res = await fetch(pending.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: params.get('code')!,
        redirect_uri: pending.redirectUri,
        client_id: this.config.clientId,
        code_verifier: pending.verifier,
      }).toString(),
    }).catch(() => null);
    const body = res ? ((await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string }) : {};
    if (!res || !res.ok || typeof body.access_token !== 'string') {
      throw new Error(
        `The token could not be obtained: ${body.error_description ?? body.error ?? (res ? `HTTP ${res.status}` : 'the provider could not be reached')}`,
      );
    }
    this.accessToken = body.access_token;
    this.tenant = pending.tenant;
    this.reason = null;
    this.emit();
    return true;
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

/** The one sign-in state of the page. */
export const auth = new Auth();

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`).catch(() => null);
  const doc = res?.ok ? ((await res.json().catch(() => null)) as Record<string, unknown> | null) : null;
  if (!doc || typeof doc.authorization_endpoint !== 'string' || typeof doc.token_endpoint !== 'string') {
    throw new Error(`The sign-in provider ${issuer} could not be reached or has no OpenID configuration`);
  }
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

function randomString(bytes: number): string {
  const data = new Uint8Array(bytes);
  crypto.getRandomValues(data);
  return base64url(data);
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

function base64url(data: Uint8Array): string {
  let text = '';
  for (const b of data) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
