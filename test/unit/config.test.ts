import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, CONFIG_VARIABLES } from '../../shared/config/index.js';

const SECTION_8 = [
  'PORT',
  'DATABASE_URL',
  'NATS_URL',
  'CEX_INSTANCE_NAME',
  'CEX_REPLICA_ID',
  'KPC_INSTANCE_NAME',
  'EPR_INSTANCE_NAME',
  'CEX_COMMAND_TTL_MILLIS',
  'CEX_MAX_AWAIT_TIMEOUT_SECONDS',
  'CEX_MAX_PAYLOAD_BYTES',
  'CEX_HISTORY_RETENTION_DAYS',
  'KAA_TEKTON_ENABLED',
  'KAA_TEKTON_URL',
  'KAA_SCMP_PROVIDER',
  'TENANT_MANAGER_URL',
  'CEX_OAUTH_ISSUER',
  'CEX_AUTH',
  'CEX_AUTHZ',
  'CEX_SERVICE_TOKEN',
  'CEX_CALLBACK_ALLOWED_HOSTS',
  'CEX_LOG_LEVEL',
  'FUNCTION_TARGET',
];

describe('loadConfig', () => {
  it('reads every Kaa setting of docs/configuration.md', () => {
    for (const name of SECTION_8) expect(CONFIG_VARIABLES).toContain(name);
  });

  it('applies the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      instanceName: 'cex',
      kpcInstanceName: 'kpc',
      eprInstanceName: 'epr',
      commandTtlMillis: 60_000,
      maxAwaitTimeoutSeconds: 60,
      maxPayloadBytes: 262_144,
      historyRetentionDays: 7,
      tekton: { enabled: false, url: 'http://tekton', scmpProvider: 'tekton' },
      tenantRefreshSeconds: 300,
      auth: true,
      authz: true,
      logLevel: 'info',
      repush: { initialMs: 5000, maxMs: 60_000 },
      callbackAllowedHosts: [],
      maxWaiters: 10_000,
    });
    expect(c.replicaId).toMatch(/^[0-9a-f]{12}$/);
    expect(c.functionUrls.espInbound).toBe('http://127.0.0.1:8080/units/esp-inbound');
  });

  it('coerces numbers and flags and returns a frozen object', () => {
    const c = loadConfig({
      PORT: '9090',
      KAA_TEKTON_ENABLED: 'true',
      CEX_AUTH: 'off',
      CEX_CALLBACK_ALLOWED_HOSTS: 'Hooks.example.com, other.test ,',
      FUNCTION_TARGET: 'esp-inbound',
      CEX_INTERNAL_TOKEN: 'x'.repeat(32),
    });
    expect(c.port).toBe(9090);
    expect(c.tekton.enabled).toBe(true);
    expect(c.auth).toBe(false);
    expect(c.callbackAllowedHosts).toEqual(['hooks.example.com', 'other.test']);
    expect(c.functionTarget).toBe('esp-inbound');
    expect(loadConfig({ CEX_MAX_WAITERS: '250' }).maxWaiters).toBe(250);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.tekton)).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', CEX_INSTANCE_NAME: '' })).toMatchObject({ port: 8080, instanceName: 'cex' });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['CEX_COMMAND_TTL_MILLIS', '-1'],
    ['CEX_COMMAND_TTL_MILLIS', '2147483648'],
    ['CEX_MAX_AWAIT_TIMEOUT_SECONDS', '1.5'],
    ['KAA_TEKTON_ENABLED', 'maybe'],
    ['KAA_TEKTON_URL', 'not a url'],
    ['CEX_INSTANCE_NAME', 'has.dot'],
    ['CEX_INSTANCE_NAME', 'wild*'],
    ['DATABASE_URL', 'mysql://x'],
    ['NATS_URL', 'http://x'],
    ['CEX_LOG_LEVEL', 'loud'],
    ['FUNCTION_TARGET', 'no-such-unit'],
    ['CEX_CALLBACK_SECRET', 'short'],
    ['CEX_MAX_WAITERS', '0'],
    ['CEX_MAX_WAITERS', 'many'],
    ['CEX_INTERNAL_TOKEN', 'too-short'],
    ['CEX_INTERNAL_TOKEN', 'has a space and is long enough to pass'],
    ['CEX_INTERNAL_TOKEN_ALT', 'x'.repeat(31)],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it('reads the internal credential: the token is sent, token and alt are accepted', () => {
    const [a, b] = ['a'.repeat(40), 'b'.repeat(40)];
    expect(loadConfig({}).internalAuth).toEqual({ token: undefined, accepted: [] });
    expect(loadConfig({ CEX_INTERNAL_TOKEN: a }).internalAuth).toEqual({ token: a, accepted: [a] });
    expect(loadConfig({ CEX_INTERNAL_TOKEN: a, CEX_INTERNAL_TOKEN_ALT: b }).internalAuth).toEqual({ token: a, accepted: [a, b] });
  });

  it.each(['command-submit', 'esp-inbound', 'scmp-config-reload', 'nats-bridge'])(
    'refuses FUNCTION_TARGET=%s without CEX_INTERNAL_TOKEN (it would answer every internal request 401)',
    (target) => {
      expect(() => loadConfig({ FUNCTION_TARGET: target })).toThrow(/CEX_INTERNAL_TOKEN: required/);
      expect(loadConfig({ FUNCTION_TARGET: target, CEX_INTERNAL_TOKEN: 'c'.repeat(32) }).functionTarget).toBe(target);
    },
  );

  it('starts the units that take no internal request without it', () => {
    for (const target of ['command-lookup', 'history-listing', 'migrate'])
      expect(loadConfig({ FUNCTION_TARGET: target }).functionTarget).toBe(target);
  });

  it('serves the whole unit unless CEX_UNIT_ROUTES names a part of it, for a target that has that part', () => {
    const token = { CEX_INTERNAL_TOKEN: 'c'.repeat(32) };
    expect(loadConfig({}).unitRoutes).toBe('all');
    expect(loadConfig({ FUNCTION_TARGET: 'esp-inbound', CEX_UNIT_ROUTES: 'all', ...token }).unitRoutes).toBe('all');
    expect(loadConfig({ FUNCTION_TARGET: 'command-submit', CEX_UNIT_ROUTES: 'events', ...token }).unitRoutes).toBe('events');
    expect(loadConfig({ FUNCTION_TARGET: 'command-lookup', CEX_UNIT_ROUTES: 'streams' }).unitRoutes).toBe('streams');
    expect(() => loadConfig({ FUNCTION_TARGET: 'command-lookup', CEX_UNIT_ROUTES: 'rest' })).toThrow(/CEX_UNIT_ROUTES:/);
    expect(() => loadConfig({ FUNCTION_TARGET: 'command-lookup', CEX_UNIT_ROUTES: 'events' })).toThrow(
      'invalid configuration: CEX_UNIT_ROUTES: events is for FUNCTION_TARGET=command-submit, not FUNCTION_TARGET=command-lookup',
    );
    expect(() => loadConfig({ FUNCTION_TARGET: 'esp-inbound', CEX_UNIT_ROUTES: 'streams', ...token })).toThrow(
      /CEX_UNIT_ROUTES: streams is for FUNCTION_TARGET=command-lookup/,
    );
    expect(() => loadConfig({ CEX_UNIT_ROUTES: 'streams' })).toThrow(/CEX_UNIT_ROUTES: .*not the dev host/);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', CEX_LOG_LEVEL: 'y' })).toThrow(/PORT:.*CEX_LOG_LEVEL:/);
  });
});
