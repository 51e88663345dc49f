import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../bridge/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { otherInstance } from '../helpers/rest-host.js';
import { invokeCommand, recordEndpointResults } from '../../shared/commands/index.js';
import type { Services as Runtime } from '../../shared/roots/services.js';
import { startReceiver, type Receiver } from './receiver.js';

/**
 * Callback URLs may carry secrets: a user and password (which fetch cannot
 * send at all) or a token in the query string. Invoke refuses the first;
 * neither ever reaches the log, whatever happens to the delivery. The log is
 * the real one: the built dev host's output (bridge included).
 */
let db: TestDatabase;
let host: DevHost;
let writer: Runtime; // a command stored with such a URL before invoke refused them
let receiver: Receiver;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startReceiver();
  host = await startDevHost({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: uniqueInstanceName(),
    CEX_AUTH: 'off',
    CEX_LOG_LEVEL: 'debug',
    CEX_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    CEX_CALLBACK_INITIAL_BACKOFF_MS: '50',
    CEX_CALLBACK_MAX_BACKOFF_MS: '100',
  });
  writer = otherInstance(db);
}, 90_000);
afterAll(async () => {
  await host?.stop('SIGKILL');
  await writer?.shutdown();
  await receiver?.close();
  await db?.drop();
});

const callbackRows = (endpointId: string) =>
  db.sql<{ last_error: string | null }[]>`SELECT last_error FROM outbox WHERE kind = 'callback' AND endpoint_id = ${endpointId}`;

describe('callback URLs with secrets', () => {
  it('refuses a callbackUrl with a user or password at invoke: 400, a clear message, nothing stored', async () => {
    for (const creds of ['user:pw-s3cret@', 'user@', ':pw-s3cret@']) {
      const callbackUrl = encodeURIComponent(`http://${creds}127.0.0.1:${receiver.port}/hook`);
      const res = await fetch(`${host.url}/api/v1/endpoints/sec-1/commands/reboot?awaitTimeout=0&callbackUrl=${callbackUrl}`, {
        method: 'POST',
      });
      const body = (await res.json()) as { code: string; detail: string };
      expect(res.status, creds).toBe(400);
      expect(body.code).toBe('INVALID_CALLBACK_URL');
      expect(body.detail).toMatch(/must not contain a user name or password/);
      expect(body.detail).not.toContain('s3cret');
    }
    expect(await db.sql`SELECT 1 FROM commands WHERE endpoint_id = 'sec-1'`).toHaveLength(0);
    // CEX_AUTH=off was set explicitly: the dev host still warns about it.
    expect(host.output()).toMatch(/"level":"warn".*authentication is OFF/);
  });

  it('never logs the credentials or query string of a callback URL, whether refused, failed or redirected', async () => {
    receiver.answer = (path) =>
      path.startsWith('/moved') ? { status: 307, location: 'http://localhost:1/x?loc=loc-s3cret' } : { status: 503 };
    const urls = {
      'sec-creds': `http://user:pw-s3cret@127.0.0.1:${receiver.port}/hook`,
      'sec-query': `http://127.0.0.1:${receiver.port}/hook?token=qs-s3cret`,
      'sec-moved': `http://127.0.0.1:${receiver.port}/moved?token=qs-s3cret`,
    };
    for (const [endpointId, callbackUrl] of Object.entries(urls)) {
      await invokeCommand(writer, {
        tenantId: 'kaa',
        endpointId,
        commandType: 'reboot',
        payload: null,
        ttlMillis: 60_000,
        awaitTimeoutSeconds: 0,
        origin: 'rest',
        callbackUrl,
      });
      await recordEndpointResults(writer, endpointId, 'reboot', [{ commandId: 1, statusCode: 200 }], null);
    }
    // The one with credentials can never be delivered: dropped at once.
    await waitFor(async () => (await callbackRows('sec-creds')).length === 0, 15_000, 'the callback with credentials dropped');
    // The others fail and are retried (at least twice each), leaving their error in the row.
    await waitFor(() => receiver.deliveries.filter((d) => d.path === '/hook?token=qs-s3cret').length >= 2, 15_000, 'retries');
    await waitFor(
      async () => ((await callbackRows('sec-moved'))[0]?.last_error ?? '').includes('not followed'),
      15_000,
      'redirect refused',
    );
    await waitFor(() => /callback attempt failed[\s\S]*callback attempt failed/.test(host.output()), 15_000, 'failures logged');

    const log = host.output();
    expect(log).toMatch(/callback refused/);
    expect(log).toMatch(/redirect \(307\) to http:\/\/localhost:1\/x not followed/);
    for (const secret of ['pw-s3cret', 'qs-s3cret', 'loc-s3cret', 'token=']) expect(log, secret).not.toContain(secret);
    for (const endpointId of Object.keys(urls)) {
      for (const row of await callbackRows(endpointId)) expect(row.last_error ?? '').not.toMatch(/s3cret|token=/);
    }
  });
});
