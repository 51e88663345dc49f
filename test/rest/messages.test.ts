import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';

/** A refusal says what is allowed, in the caller's terms: units, limits, characters, not a regex or zod's wording. */
let db: TestDatabase;
let host: RestHost;
beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db, { CEX_CALLBACK_ALLOWED_HOSTS: 'hooks.example.com' });
});
afterAll(async () => {
  await host.stop();
  await db.drop();
});

const api = (path: string) => `/api/v1/endpoints${path}`;

describe('error messages', () => {
  it.each([
    [
      'POST',
      api('/e-1/commands/reboot?commandTtl=99999999999'),
      'INVALID_COMMAND_TTL',
      'commandTtl: "99999999999" is not valid: must be at most 2147483647 milliseconds',
    ],
    [
      'POST',
      api('/e-1/commands/reboot?commandTtl=-5'),
      'INVALID_COMMAND_TTL',
      'commandTtl: "-5" is not valid: must be at least 0 milliseconds',
    ],
    [
      'POST',
      api('/e-1/commands/reboot?commandTtl=1.5'),
      'INVALID_COMMAND_TTL',
      'commandTtl: "1.5" is not valid: must be a whole number of milliseconds',
    ],
    [
      'POST',
      api('/e-1/commands/reboot?awaitTimeout=5000'),
      'INVALID_AWAIT_TIMEOUT',
      'awaitTimeout: "5000" is not valid: must be at most 60 seconds',
    ],
    [
      'POST',
      api('/e-1/commands/reboot?callbackUrl=ftp://hooks.example.com/x'),
      'INVALID_CALLBACK_URL',
      'callbackUrl: "ftp://hooks.example.com/x" is not valid: only http and https are allowed, not ftp',
    ],
    [
      'POST',
      api('/e-1/commands/reboot?callbackUrl=hooks.example.com/x'),
      'INVALID_CALLBACK_URL',
      'callbackUrl: "hooks.example.com/x" is not valid: must be an absolute http:// or https:// URL',
    ],
    [
      'POST',
      api('/bad%20id/commands/reboot'),
      'INVALID_ENDPOINT_ID',
      'endpointId: "bad id" is not valid: must be 1-128 characters of A-Z a-z 0-9 . _ ~ -',
    ],
    [
      'POST',
      api('/e-1/commands/re.boot'),
      'INVALID_COMMAND_TYPE',
      'commandType: "re.boot" is not valid: must be 1-128 characters of A-Z a-z 0-9 _ -',
    ],
    [
      'GET',
      api('/e-1/commands/reboot/99999999999'),
      'INVALID_COMMAND_ID',
      'commandId: "99999999999" is not valid: must be at most 2147483647',
    ],
    ['GET', api('/e-1/commands/reboot/0'), 'INVALID_COMMAND_ID', 'commandId: "0" is not valid: must be at least 1'],
    ['GET', api('/e-1/commands/reboot/seven'), 'INVALID_COMMAND_ID', 'commandId: "seven" is not valid: must be a whole number'],
    [
      'GET',
      api('/commands'),
      'INVALID_ENDPOINT_ID',
      'endpointId is required: Endpoint ids (repeat the parameter or comma-separate), 1–100',
    ],
    ['GET', api('/commands?endpointId=e-1&limit=5000'), 'INVALID_LIMIT', 'limit: "5000" is not valid: must be at most 1000'],
    ['GET', api('/commands/app?size=0'), 'INVALID_SIZE', 'size: "0" is not valid: must be at least 1'],
  ])('%s %s → %s', async (method, path, code, detail) => {
    const res = await fetch(`${host.url}${path}`, { method });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code, detail });
  });
});
