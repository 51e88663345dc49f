import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';
import { postCallback } from '../../shared/jobs/index.js';
import { ConfigError, loadConfig } from '../../shared/config/index.js';
import { startReceiver, type Receiver } from './receiver.js';

/**
 * CEX_CALLBACK_ALLOWED_HOSTS takes `host` (any port) and `host:port` (that
 * port only) entries, is checked at start, and a refusal names the host.
 */
let db: TestDatabase;
let host: RestHost;
let receiver: Receiver;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startReceiver();
  host = await startRestHost(db, { CEX_CALLBACK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}, Hooks.Example.com,[::1]:8443,plain.test:80` });
});
afterAll(async () => {
  await host.stop();
  await receiver.close();
  await db.drop();
});

async function invoke(callbackUrl: string) {
  const res = await fetch(
    `${host.url}/api/v1/endpoints/hosts-1/commands/reboot?awaitTimeout=0&callbackUrl=${encodeURIComponent(callbackUrl)}`,
    { method: 'POST' },
  );
  return { status: res.status, body: (await res.json()) as { code?: string; detail?: string } };
}

describe('CEX_CALLBACK_ALLOWED_HOSTS', () => {
  it.each([
    [`http://127.0.0.1:RECEIVER/hook`, 202],
    ['https://hooks.example.com/x', 202],
    ['https://HOOKS.example.com:9443/x', 202],
    ['https://[::1]:8443/x', 202],
    ['http://plain.test/x', 202],
    ['http://plain.test:80/x', 202],
  ])('accepts %s', async (url, status) => {
    const { status: got, body } = await invoke(url.replace('RECEIVER', String(receiver.port)));
    expect(got, JSON.stringify(body)).toBe(status);
  });

  it.each([
    ['http://127.0.0.1:1/hook', '127.0.0.1:1'],
    ['http://127.0.0.1/hook', '127.0.0.1'],
    ['https://[::1]/x', '[::1]'],
    ['https://plain.test/x', 'plain.test'],
    ['https://evil.example.org/x', 'evil.example.org'],
  ])('refuses %s, naming %s', async (url, named) => {
    const { status, body } = await invoke(url);
    expect(status).toBe(400);
    expect(body.code).toBe('CALLBACK_HOST_NOT_ALLOWED');
    expect(body.detail).toBe(`callbackUrl host "${named}" is not listed in CEX_CALLBACK_ALLOWED_HOSTS`);
  });

  it('lets the bridge deliver to a host:port entry', async () => {
    const attempt = {
      url: `${receiver.url}/direct`,
      body: '{}',
      deliveryId: 'd-1',
      attempt: 1,
      secret: undefined,
      timeoutMs: 2_000,
      signal: new AbortController().signal,
    };
    expect(await postCallback({ ...attempt, allowedHosts: [`127.0.0.1:${receiver.port}`] })).toEqual({ outcome: 'delivered', status: 200 });
    expect(await postCallback({ ...attempt, allowedHosts: ['127.0.0.1:1'] })).toEqual({
      outcome: 'refused',
      error: `host 127.0.0.1:${receiver.port} is not in CEX_CALLBACK_ALLOWED_HOSTS`,
    });
  });

  it('is checked at start: an entry that is not host or host:port stops the process, naming it', () => {
    expect(loadConfig({ CEX_CALLBACK_ALLOWED_HOSTS: 'A.test, b.test:8080 ,[::1]:9,' }).callbackAllowedHosts).toEqual([
      'a.test',
      'b.test:8080',
      '[::1]:9',
    ]);
    for (const bad of ['http://a.test', 'a.test/x', 'a.test:0', 'a.test:70000', 'a.test:', 'user@a.test', 'fe80::1', '*.a.test', 'a b']) {
      expect(() => loadConfig({ CEX_CALLBACK_ALLOWED_HOSTS: `ok.test,${bad}` }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ CEX_CALLBACK_ALLOWED_HOSTS: `ok.test,${bad}` }), bad).toThrow(
        `CEX_CALLBACK_ALLOWED_HOSTS: "${bad}" is not host or host:port`,
      );
    }
  });
});
