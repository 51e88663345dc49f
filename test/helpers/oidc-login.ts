import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The browser side of a local OpenID provider, for the console's sign-in
 * test: an authorization endpoint (a login form, then a redirect with a
 * one-time code) and a token endpoint that redeems the code, following
 * RFC 6749 §4.1 with PKCE (RFC 7636, S256 only). The code is bound to the
 * client, the redirect URI and the code challenge, and the token endpoint
 * checks the verifier against that challenge, so a test passes only with a
 * client that does PKCE right.
 */
export interface LoginOptions {
  /** client_id → the redirect URIs registered for it (exact match). */
  clients: Record<string, { redirectUris: string[] }>;
  /** user name → the scope claim of its tokens; lifetime in seconds (negative: already expired, as a session that ended). */
  users: Record<string, { scope: string; lifetimeSeconds?: number }>;
}

export interface LoginEndpoints {
  /** Paths, relative to the issuer, for the discovery document. */
  authorizationPath: string;
  tokenPath: string;
  /** Every access token handed out, to check none leaked into a URL. */
  issued: string[];
  /** Answers the request when it is for one of these endpoints. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  user: string;
  expiresAt: number;
}

const CODE_LIFETIME_MS = 60_000;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function loginEndpoints(
  pathPrefix: string,
  options: LoginOptions,
  sign: (claims: Record<string, unknown>, expiresIn: number) => Promise<string>,
): LoginEndpoints {
  const authorizationPath = `${pathPrefix}/protocol/openid-connect/auth`;
  const tokenPath = `${pathPrefix}/protocol/openid-connect/token`;
  const grants = new Map<string, Grant>();
  const issued: string[] = [];
  const allowedOrigins = new Set(Object.values(options.clients).flatMap((c) => c.redirectUris.map((u) => new URL(u).origin)));

  function authorize(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    const clientId = params.get('client_id') ?? '';
    const redirectUri = params.get('redirect_uri') ?? '';
    // An unknown client or redirect URI is never redirected to (RFC 6749 §4.1.2.1).
    if (!options.clients[clientId]?.redirectUris.includes(redirectUri)) return page(res, 400, '<p>Unknown client or redirect URI.</p>');
    const back = (query: Record<string, string>) => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries({ ...query, state: params.get('state') ?? '' })) url.searchParams.set(k, v);
      res.writeHead(302, { location: url.href, 'cache-control': 'no-store' }).end();
    };
    if (params.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' });
    const challenge = params.get('code_challenge') ?? '';
    if (params.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return back({ error: 'invalid_request', error_description: 'PKCE with S256 is required' });
    }
    const user = params.get('username');
    if (req.method === 'POST' && user && options.users[user]) {
      const code = randomBytes(24).toString('base64url');
      grants.set(code, { clientId, redirectUri, challenge, user, expiresAt: Date.now() + CODE_LIFETIME_MS });
      return back({ code });
    }
    const hidden = [...params]
      .filter(([k]) => k !== 'username')
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join('');
    const error = req.method === 'POST' ? '<p role="alert">Unknown user.</p>' : '';
    page(
      res,
      200,
      `<h1>Local issuer</h1>${error}<form method="post" action="${esc(authorizationPath)}">${hidden}
      <label for="u">User name</label> <input id="u" name="username" autocomplete="username"> <button type="submit">Sign in</button></form>`,
    );
  }

  async function token(req: IncomingMessage, res: ServerResponse, form: URLSearchParams): Promise<void> {
    const origin = req.headers.origin;
    const cors: Record<string, string> =
      origin && allowedOrigins.has(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
    const fail = (error: string, description: string): void =>
      void res
        .writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store', ...cors })
        .end(JSON.stringify({ error, error_description: description }));
    if (form.get('grant_type') !== 'authorization_code') return fail('unsupported_grant_type', 'only authorization_code');
    const code = form.get('code') ?? '';
    const grant = grants.get(code);
    // One use only, whatever the outcome (RFC 6749 §4.1.2).
    grants.delete(code);
    if (!grant || grant.expiresAt < Date.now()) return fail('invalid_grant', 'unknown, used or expired code');
    if (form.get('client_id') !== grant.clientId || form.get('redirect_uri') !== grant.redirectUri)
      return fail('invalid_grant', 'client or redirect_uri differs from the authorization request');
    const verifier = form.get('code_verifier') ?? '';
    if (!VERIFIER.test(verifier) || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
      return fail('invalid_grant', 'code_verifier does not match the code_challenge');
    }
    const user = options.users[grant.user]!;
    const lifetime = user.lifetimeSeconds ?? 300;
    const accessToken = await sign({ sub: grant.user, scope: user.scope, azp: grant.clientId }, lifetime);
    issued.push(accessToken);
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', ...cors })
      .end(JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: Math.max(lifetime, 0), scope: user.scope }));
  }

  return {
    authorizationPath,
    tokenPath,
    issued,
    handle(req, res, path) {
      const url = new URL(req.url ?? '/', 'http://issuer');
      if (path === authorizationPath && (req.method === 'GET' || req.method === 'POST')) {
        if (req.method === 'GET') authorize(req, res, url.searchParams);
        else void readForm(req).then((form) => authorize(req, res, form));
        return true;
      }
      if (path === tokenPath && req.method === 'POST') {
        void readForm(req).then((form) => token(req, res, form));
        return true;
      }
      return false;
    },
  };
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => resolve(new URLSearchParams(body)));
  });
}

function page(res: ServerResponse, status: number, body: string): void {
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
    .end(`<!doctype html><html lang="en"><head><title>Sign in</title></head><body><main>${body}</main></body></html>`);
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
