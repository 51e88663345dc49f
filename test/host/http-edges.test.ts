import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { ConfigError, loadConfig } from '../../shared/config/index.js';

/**
 * The HTTP edge every unit shares: 405 with Allow, CORS for the configured
 * origins (preflight included), metrics labels of the operations routes, and
 * a warning at start whenever authentication is off.
 */
const APP = 'https://app.example.com';
let db: TestDatabase;
let host: RestHost; // in-process, every unit, CORS for APP and localhost:3000
let plain: RestHost; // no CEX_CORS_ALLOWED_ORIGINS

beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db, { CEX_CORS_ALLOWED_ORIGINS: `${APP}, http://localhost:3000` });
  plain = await startRestHost(db);
});
afterAll(async () => {
  await host.stop();
  await plain.stop();
  await db.drop();
});

const preflight = (url: string, origin: string, method = 'POST') =>
  fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type, idempotency-key',
    },
  });

describe('405 Method Not Allowed', () => {
  it.each([
    ['PUT', '/api/v1/endpoints/e-1/commands/reboot', 'OPTIONS, POST'],
    ['DELETE', '/api/v1/endpoints/commands', 'GET, HEAD, OPTIONS'],
    ['POST', '/api/v1/endpoints/e-1/commands/reboot/7', 'DELETE, GET, HEAD, OPTIONS'],
    ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/openapi.json', 'GET, HEAD, OPTIONS'],
  ])('%s %s names the allowed methods in Allow', async (method, path, allow) => {
    const res = await fetch(`${host.url}${path}`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(await res.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED', detail: `${method} is not allowed here; use ${allow}` });
  });
});

describe('CORS', () => {
  it('answers a preflight from a configured origin: 204 with the methods and headers a browser may use', async () => {
    const res = await preflight(`${host.url}/api/v1/endpoints/e-1/commands/reboot`, APP);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toBe('OPTIONS, POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, Idempotency-Key, Last-Event-ID');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it('lets a configured origin read answers and the headers that matter (Location, X-Command-*)', async () => {
    const res = await fetch(`${host.url}/api/v1/endpoints/cors-1/commands/reboot?awaitTimeout=0`, {
      method: 'POST',
      headers: { origin: 'http://localhost:3000' },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(res.headers.get('access-control-expose-headers')).toBe(
      'Location, X-Command-Id, X-Command-Status-Code, X-Command-Reason-Phrase, Retry-After',
    );
    expect(res.headers.get('vary')).toMatch(/Origin/);
    const problem = await fetch(`${host.url}/api/v1/endpoints/bad%20id/commands/reboot`, { method: 'POST', headers: { origin: APP } });
    expect(problem.status).toBe(400);
    expect(problem.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('refuses a preflight from any other origin (403, naming it) and gives its requests no CORS headers', async () => {
    const res = await preflight(`${host.url}/api/v1/endpoints/commands?endpointId=e`, 'https://evil.example.org', 'GET');
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await res.json()).toMatchObject({
      code: 'CORS_ORIGIN_NOT_ALLOWED',
      detail: 'origin https://evil.example.org is not listed in CEX_CORS_ALLOWED_ORIGINS',
    });
    const get = await fetch(`${host.url}/healthz`, { headers: { origin: 'https://evil.example.org' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows no origin by default; a plain OPTIONS (no preflight) answers 204 with Allow', async () => {
    const res = await preflight(`${plain.url}/api/v1/endpoints/e-1/commands/reboot`, APP);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toBe(
      `origin ${APP} is not listed in CEX_CORS_ALLOWED_ORIGINS (it lists none, so CORS is off)`,
    );
    const options = await fetch(`${plain.url}/api/v1/endpoints/e-1/commands/reboot`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('OPTIONS, POST');
    expect((await fetch(`${plain.url}/api/v1/nothing`, { method: 'OPTIONS' })).status).toBe(404);
  });

  it('checks CEX_CORS_ALLOWED_ORIGINS at start: origins (scheme://host[:port]) or *', () => {
    expect(loadConfig({ CEX_CORS_ALLOWED_ORIGINS: 'https://A.example.com, http://localhost:3000' }).corsAllowedOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:3000',
    ]);
    expect(loadConfig({ CEX_CORS_ALLOWED_ORIGINS: '*' }).corsAllowedOrigins).toEqual(['*']);
    expect(loadConfig({}).corsAllowedOrigins).toEqual([]);
    for (const bad of ['app.example.com', 'https://app.example.com/', 'https://app.example.com/x', 'ftp://a.example.com']) {
      expect(() => loadConfig({ CEX_CORS_ALLOWED_ORIGINS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ CEX_CORS_ALLOWED_ORIGINS: bad }), bad).toThrow(`CEX_CORS_ALLOWED_ORIGINS: "${bad}" is not an origin`);
    }
  });
});

describe('metrics of the operations routes', () => {
  it('labels /healthz, /readyz and /openapi.json by their path, not "unmatched"', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json']) expect((await fetch(`${plain.url}${path}`)).status).toBe(200);
    const text = await (await fetch(`${plain.url}/metrics`)).text();
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      expect(text, path).toMatch(
        new RegExp(
          `cex_http_request_duration_seconds_count\\{unit="host",route="${path.replace('.', '\\.')}",method="GET",status="200"\\} [1-9]`,
        ),
      );
    }
    expect(text).not.toMatch(/route="unmatched",method="GET",status="200"/);
  });
});

describe('authentication off', () => {
  let unit: DevHost | undefined;
  afterAll(async () => {
    await unit?.stop('SIGKILL');
  });

  it('is warned about at start when set explicitly, in a single unit (and CORS and 405 work there too)', async () => {
    unit = await startDevHost({
      FUNCTION_TARGET: 'history-listing',
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      CEX_INSTANCE_NAME: uniqueInstanceName(),
      CEX_AUTH: 'off',
      CEX_CORS_ALLOWED_ORIGINS: APP,
    });
    expect(unit.output()).toMatch(/"level":"warn".*authentication is OFF \(CEX_AUTH=off\)/);
    const res = await preflight(`${unit.url}/api/v1/endpoints/commands/batch/tasks`, APP, 'GET');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    const put = await fetch(`${unit.url}/api/v1/endpoints/commands/batch/tasks`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});
