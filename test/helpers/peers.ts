import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyObject } from 'jose';
import { loginEndpoints, type LoginEndpoints, type LoginOptions } from './oidc-login.js';

/**
 * Local stand-ins for the peers CEX talks to over REST, following their
 * documented contracts (docs/rest-api.md, "The REST peers CEX calls"): an OpenID issuer with real keys,
 * the Tenant Manager, and Tekton. Each counts the requests it served.
 */

interface Peer {
  url: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

async function serve(route: (req: IncomingMessage, res: ServerResponse, path: string) => void): Promise<Peer> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://peer').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    route(req, res, path);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export interface Issuer extends Peer {
  issuer: string;
  kid: string;
  publicJwk: JWK;
  /** With `login`: the authorization code + PKCE endpoints a browser signs in at. */
  login?: LoginEndpoints;
  /** A real RS256 token from this issuer; override claims or the header's kid. */
  sign(
    claims: JWTPayload,
    options?: { kid?: string; expiresIn?: string | number | null; notBefore?: string | number; key?: KeyObject },
  ): Promise<string>;
  /** Publishes a new key beside the others; tokens signed with `sign({…}, { kid })` use it. */
  addKey(kid: string): Promise<void>;
  /** Stops publishing a key (its tokens no longer verify once CEX refetches). */
  removeKey(kid: string): void;
  /** While true, discovery and JWKS requests get no answer at all. */
  hang: boolean;
  /** Requests that were left hanging and then closed by the client (CEX gave up). */
  abandoned: number;
}

export async function startIssuer(name: string, options: { login?: LoginOptions } = {}): Promise<Issuer> {
  // Private keys are kept after a key is no longer published: tokens signed with it must still be made.
  const keys = new Map<string, { publicJwk: JWK; privateKey: KeyObject }>();
  const published = new Set<string>();
  const addKey = async (kid: string) => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    keys.set(kid, { publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, privateKey: privateKey as KeyObject });
    published.add(kid);
  };
  const kid = `${name}-key-1`;
  await addKey(kid);
  let issuer = '';
  let self: Issuer | undefined;
  const login = options.login
    ? loginEndpoints(`/realms/${name}`, options.login, (claims, expiresIn) =>
        self!.sign(claims, { expiresIn: Math.floor(Date.now() / 1000) + expiresIn }),
      )
    : undefined;
  const peer = await serve((req, res, path) => {
    if (login?.handle(req, res, path)) return;
    const documents = ['/realms/' + name + '/.well-known/openid-configuration', '/realms/' + name + '/protocol/openid-connect/certs'];
    if (self?.hang && documents.includes(path)) {
      res.on('close', () => void (self!.abandoned += res.writableEnded ? 0 : 1));
      return;
    }
    if (path === documents[0]) {
      const endpoints = login
        ? {
            authorization_endpoint: `${peer.url}${login.authorizationPath}`,
            token_endpoint: `${peer.url}${login.tokenPath}`,
            code_challenge_methods_supported: ['S256'],
          }
        : {};
      // A browser (the console) reads the discovery document too.
      res.setHeader('access-control-allow-origin', '*');
      return json(res, 200, { issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs`, ...endpoints });
    }
    if (path === documents[1]) return json(res, 200, { keys: [...published].map((k) => keys.get(k)!.publicJwk) });
    json(res, 404, {});
  });
  issuer = `${peer.url}/realms/${name}`;
  return (self = {
    ...peer,
    issuer,
    kid,
    publicJwk: keys.get(kid)!.publicJwk,
    ...(login ? { login } : {}),
    hang: false,
    abandoned: 0,
    addKey,
    removeKey: (k) => void published.delete(k),
    async sign(claims, options = {}) {
      const useKid = options.kid ?? kid;
      let jwt = new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: useKid, typ: 'JWT' })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : issuer)
        .setIssuedAt();
      if (options.expiresIn !== null) jwt = jwt.setExpirationTime(options.expiresIn ?? '5m');
      if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
      return jwt.sign(options.key ?? keys.get(useKid)?.privateKey ?? keys.get(kid)!.privateKey);
    },
  });
}

/** A peer that can be made to never answer: requests are left open until the client gives up. */
export interface Hanging {
  /** While true, every request gets no answer at all. */
  hang: boolean;
  /** Requests left hanging that the client (CEX) closed: it gave up on its own. */
  abandoned: number;
}

/** Leaves the request open when `peer.hang`, counting the client's giving up; true when it did. */
function hung(peer: Hanging | undefined, res: ServerResponse): boolean {
  if (!peer?.hang) return false;
  res.on('close', () => void (peer.abandoned += res.writableEnded ? 0 : 1));
  return true;
}

export interface TenantManager extends Peer, Hanging {
  tenants: { id: string; issuer: string; status?: string }[];
}

export async function startTenantManager(tenants: TenantManager['tenants']): Promise<TenantManager> {
  // The handler reads the returned object, so tests can change it in place.
  let self: TenantManager | undefined;
  const peer = await serve((req, res, path) => {
    if (hung(self, res)) return;
    if (path === '/api/v1/tenants' && new URL(req.url!, 'http://x').searchParams.get('limit') === '0') {
      return json(res, 200, { count: self!.tenants.length, results: self!.tenants });
    }
    json(res, 404, {});
  });
  return (self = Object.assign(peer, { tenants, hang: false, abandoned: 0 }));
}

export interface Tekton extends Peer, Hanging {
  /** application → { tenantId, versions } */
  apps: Record<string, { tenantId?: string; versions: string[] }>;
  instanceName: string;
  /** When set, app-configs answers wait for it (then answer what `apps` holds by then). */
  hold?: Promise<void>;
}

export async function startTekton(instanceName: string, apps: Tekton['apps']): Promise<Tekton> {
  // The handler reads the returned object, so tests can change it in place.
  let state: Tekton | undefined;
  const peer = await serve((req, res, path) => {
    if (hung(state, res)) return;
    const query = new URL(req.url!, 'http://x').searchParams;
    if (path === '/api/v1/app-configs' && query.get('serviceInstanceName') === state!.instanceName) {
      const answer = () => {
        const applications = Object.fromEntries(
          Object.entries(state!.apps).map(([app, a]) => [app, { versions: Object.fromEntries(a.versions.map((v) => [v, {}])) }]),
        );
        json(res, 200, { [state!.instanceName]: { kaa: { applications } } });
      };
      return state!.hold ? void state!.hold.then(answer) : answer();
    }
    if (path === '/api/v1/applications') {
      return json(
        res,
        200,
        Object.entries(state!.apps).map(([name, a]) => ({ name, ...(a.tenantId ? { tenantId: a.tenantId } : {}) })),
      );
    }
    json(res, 404, {});
  });
  return (state = Object.assign(peer, { apps, instanceName, hang: false, abandoned: 0 }));
}
