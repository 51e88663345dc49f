import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { allowedHostList, allowedOriginList } from './hosts.js';
import { FUNCTION_TARGETS, type FunctionTarget } from './targets.js';

export { FUNCTION_TARGETS, type FunctionTarget } from './targets.js';
export { hostAllowed } from './hosts.js';

/**
 * Every environment variable CEX reads, in one zod schema (docs/configuration.md describes each): the Kaa settings plus
 * the knobs the issues added (re-push backoff, tenant refresh, function URLs).
 * A missing or malformed value stops the process at start, naming the variable.
 */

const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes', 'on'].includes(v)));

const integer = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

// Instance names end up inside NATS subjects: one token, no wildcards or dots.
const subjectToken = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .default(fallback);

const optionalUrl = z.url().optional();

/**
 * CEX_UNIT_ROUTES: which of its unit's requests a process serves. `all` (the
 * default) is everything; `events` only the unit's CloudEvents (POST
 * /cloudevents), `streams` only its server-sent event routes, so that a
 * Knative Service of their own, with its own concurrency, timeouts and
 * scaling, takes them (knative/README.md, "Scaling, per function"). Any
 * other request gets 404 problem+json.
 */
export const UNIT_ROUTE_SETS = ['all', 'events', 'streams'] as const;
export type UnitRouteSet = (typeof UNIT_ROUTE_SETS)[number];

/**
 * The targets each partial set makes sense for: `events` for the unit that
 * serves both REST routes and CloudEvents, `streams` for the unit with SSE
 * routes (test/unit/unit-routes.test.ts checks these against the units).
 */
export const PARTIAL_ROUTE_SET_TARGETS: Readonly<Record<Exclude<UnitRouteSet, 'all'>, readonly FunctionTarget[]>> = {
  events: ['command-submit'],
  streams: ['command-lookup'],
};

/**
 * The targets that send or receive internal requests (the bridge's
 * CloudEvents, command-submit's /nats/request): they refuse to start without
 * CEX_INTERNAL_TOKEN, rather than start and answer every event 401.
 */
export const INTERNAL_CREDENTIAL_TARGETS: readonly FunctionTarget[] = [
  'command-submit',
  'esp-inbound',
  'scmp-config-reload',
  'nats-bridge',
];

// Sent in an Authorization header: visible ASCII only; 32 characters or more
// so it cannot be guessed (`openssl rand -base64 32` gives 44).
const internalToken = z
  .string()
  .min(32, 'must be at least 32 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters (no spaces)')
  .optional();

const envSchema = z.object({
  PORT: integer(8080, 0, 65535),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  // A session connection to the same database, for what a transaction-mode
  // pooler cannot carry: the LISTEN connection and the migrator's advisory
  // lock. Unset: DATABASE_URL.
  DATABASE_LISTEN_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  // What DATABASE_URL goes through: `transaction` (PgBouncer pool_mode =
  // transaction, or alike) turns prepared statements off, since a prepared
  // statement lives on a server connection the next transaction may not get.
  CEX_DB_POOLER: z.enum(['none', 'session', 'transaction']).default('none'),
  NATS_URL: z
    .string()
    .regex(/^(nats|tls|ws|wss):\/\/[^,\s]+(,(nats|tls|ws|wss):\/\/[^,\s]+)*$/, 'must be nats:// URL(s), comma-separated')
    .optional(),
  // How the bridge authenticates to NATS and checks its certificate: files
  // mounted from Secrets (re-read at every reconnect, so a rotated Secret is
  // picked up). A creds file (JWT + NKEY) or an NKEY seed, not both.
  NATS_CREDS_FILE: z.string().min(1).optional(),
  NATS_NKEY_SEED_FILE: z.string().min(1).optional(),
  NATS_TLS_CA_FILE: z.string().min(1).optional(),
  CEX_INSTANCE_NAME: subjectToken('cex'),
  CEX_REPLICA_ID: subjectToken(randomBytes(6).toString('hex')),
  KPC_INSTANCE_NAME: subjectToken('kpc'),
  EPR_INSTANCE_NAME: subjectToken('epr'),
  CEX_COMMAND_TTL_MILLIS: integer(60_000, 0, 2_147_483_647),
  CEX_MAX_AWAIT_TIMEOUT_SECONDS: integer(60, 0, 3600),
  CEX_MAX_PAYLOAD_BYTES: integer(262_144, 1024, 64 * 1024 * 1024),
  CEX_HISTORY_RETENTION_DAYS: integer(7, 1, 3650),
  KAA_TEKTON_ENABLED: booleanFlag(false),
  KAA_TEKTON_URL: z.url().default('http://tekton'),
  KAA_SCMP_PROVIDER: subjectToken('tekton'),
  TENANT_MANAGER_URL: optionalUrl,
  CEX_TENANT_REFRESH_SECONDS: integer(300, 1, 86_400),
  CEX_OAUTH_ISSUER: optionalUrl,
  // The OAuth client the operator console signs in with (a public client:
  // authorization code + PKCE, no secret), registered at each tenant's issuer.
  CEX_CONSOLE_CLIENT_ID: z
    .string()
    .regex(/^[\x21-\x7e]{1,256}$/, 'must be 1-256 visible ASCII characters')
    .default('cex-console'),
  CEX_AUTH: booleanFlag(true),
  CEX_AUTHZ: booleanFlag(true),
  CEX_SERVICE_TOKEN: z.string().min(1).optional(),
  CEX_CALLBACK_ALLOWED_HOSTS: allowedHostList,
  // Browser pages on these origins may call the API (CORS); none by default.
  CEX_CORS_ALLOWED_ORIGINS: allowedOriginList,
  CEX_CALLBACK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  // The credential the bridge and the functions authenticate internal
  // requests with (shared/auth/internal.ts): sent and accepted. The ALT one is
  // accepted too but never sent, so a rotation never has a moment where a
  // sender and a receiver disagree (knative/README.md, "Internal credential").
  CEX_INTERNAL_TOKEN: internalToken,
  CEX_INTERNAL_TOKEN_ALT: internalToken,
  CEX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  FUNCTION_TARGET: z.enum(FUNCTION_TARGETS).optional(),
  CEX_UNIT_ROUTES: z.enum(UNIT_ROUTE_SETS).default('all'),
  CEX_REPUSH_INITIAL_MS: integer(5_000, 100, 3_600_000),
  CEX_REPUSH_MAX_MS: integer(60_000, 100, 86_400_000),
  CEX_DB_POOL_MAX: integer(10, 1, 200),
  // Where the bridge forwards CloudEvents. Unset: the dev host, which serves
  // every unit on one port under /units/{name}.
  CEX_COMMAND_SUBMIT_URL: optionalUrl,
  CEX_ESP_INBOUND_URL: optionalUrl,
  CEX_SCMP_CONFIG_RELOAD_URL: optionalUrl,
  // Where functions ask the bridge for NATS request/reply (20/EFMP for batch
  // commands). Unset: the dev host, where the bridge runs in-process.
  CEX_BRIDGE_URL: optionalUrl,
  CEX_EFMP_TIMEOUT_MS: integer(10_000, 100, 120_000),
  CEX_SHUTDOWN_GRACE_MS: integer(25_000, 0, 600_000),
  // Result callbacks (docs/rest-api.md, callbackUrl): each attempt's timeout,
  // the first retry delay (doubling up to the cap, with jitter) and how long
  // after the command became final the bridge keeps trying.
  CEX_CALLBACK_TIMEOUT_MS: integer(10_000, 100, 120_000),
  CEX_CALLBACK_INITIAL_BACKOFF_MS: integer(1_000, 10, 3_600_000),
  CEX_CALLBACK_MAX_BACKOFF_MS: integer(300_000, 10, 3_600_000),
  CEX_CALLBACK_MAX_AGE_MS: integer(3_600_000, 1_000, 7 * 86_400_000),
  // Sync invokes waiting at once in one process; past it, 503 + Retry-After.
  CEX_MAX_WAITERS: integer(10_000, 1, 1_000_000),
  // Receiving a request: its headers, then headers and body (408 past either).
  CEX_HTTP_HEADERS_TIMEOUT_MS: integer(30_000, 100, 600_000),
  CEX_HTTP_REQUEST_TIMEOUT_MS: integer(60_000, 100, 3_600_000),
  // Tekton and the Tenant Manager: each request's timeout.
  CEX_PEER_TIMEOUT_MS: integer(5_000, 100, 120_000),
  // The token issuers: discovery and JWKS request timeout, how long a failed
  // discovery is not retried, the JWKS refetch cooldown and cache age.
  CEX_OIDC_TIMEOUT_MS: integer(5_000, 100, 120_000),
  CEX_OIDC_RETRY_MS: integer(30_000, 100, 3_600_000),
  CEX_JWKS_COOLDOWN_MS: integer(30_000, 0, 3_600_000),
  CEX_JWKS_MAX_AGE_MS: integer(600_000, 1_000, 86_400_000),
});

export interface Config {
  readonly port: number;
  readonly databaseUrl: string | undefined;
  /** The session (direct) URL for LISTEN and migrations: DATABASE_LISTEN_URL, else DATABASE_URL. */
  readonly databaseListenUrl: string | undefined;
  /** The pooler DATABASE_URL goes through; `transaction` means no prepared statements. */
  readonly dbPooler: 'none' | 'session' | 'transaction';
  readonly natsUrl: string | undefined;
  /** Files the NATS connection authenticates with and trusts (NATS_CREDS_FILE, NATS_NKEY_SEED_FILE, NATS_TLS_CA_FILE). */
  readonly natsAuth: { readonly credsFile?: string; readonly nkeySeedFile?: string; readonly tlsCaFile?: string };
  readonly instanceName: string;
  readonly replicaId: string;
  readonly kpcInstanceName: string;
  readonly eprInstanceName: string;
  readonly commandTtlMillis: number;
  readonly maxAwaitTimeoutSeconds: number;
  readonly maxPayloadBytes: number;
  readonly historyRetentionDays: number;
  readonly tekton: { readonly enabled: boolean; readonly url: string; readonly scmpProvider: string };
  readonly tenantManagerUrl: string | undefined;
  readonly tenantRefreshSeconds: number;
  readonly oauthIssuer: string | undefined;
  readonly consoleClientId: string;
  readonly auth: boolean;
  readonly authz: boolean;
  readonly serviceToken: string | undefined;
  readonly callbackAllowedHosts: readonly string[];
  readonly callbackSecret: string | undefined;
  /** The internal credential: `token` is sent; `accepted` (token and alt) are let in. Empty: every internal request is refused. */
  readonly internalAuth: { readonly token: string | undefined; readonly accepted: readonly string[] };
  /** Origins allowed by CORS (lower-case), `*` for any; empty: CORS off. */
  readonly corsAllowedOrigins: readonly string[];
  readonly logLevel: string;
  readonly functionTarget: FunctionTarget | undefined;
  /** What of its unit this process serves (CEX_UNIT_ROUTES); always `all` in the dev host. */
  readonly unitRoutes: UnitRouteSet;
  readonly repush: { readonly initialMs: number; readonly maxMs: number };
  readonly dbPoolMax: number;
  readonly functionUrls: {
    readonly commandSubmit: string;
    readonly espInbound: string;
    readonly scmpConfigReload: string;
  };
  /** The bridge's internal HTTP endpoint (NATS request/reply for functions). */
  readonly bridgeUrl: string;
  readonly efmpTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly callbacks: {
    readonly timeoutMs: number;
    readonly initialBackoffMs: number;
    readonly maxBackoffMs: number;
    readonly maxAgeMs: number;
  };
  readonly maxWaiters: number;
  readonly http: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number };
  readonly peerTimeoutMs: number;
  readonly oidc: { readonly timeoutMs: number; readonly retryMs: number; readonly jwksCooldownMs: number; readonly jwksMaxAgeMs: number };
}

/** Thrown for a bad environment; the message names every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
}

/** Resolves the environment into a frozen Config, or throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset: `FOO= make run` must behave like no FOO.
  const cleaned = Object.fromEntries(Object.keys(envSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.NATS_CREDS_FILE && e.NATS_NKEY_SEED_FILE) {
    throw new ConfigError('invalid configuration: NATS_NKEY_SEED_FILE: set NATS_CREDS_FILE or NATS_NKEY_SEED_FILE, not both');
  }
  if (e.FUNCTION_TARGET && INTERNAL_CREDENTIAL_TARGETS.includes(e.FUNCTION_TARGET) && !e.CEX_INTERNAL_TOKEN) {
    throw new ConfigError(
      `invalid configuration: CEX_INTERNAL_TOKEN: required for FUNCTION_TARGET=${e.FUNCTION_TARGET} (the nats-bridge and the functions it calls authenticate each other with it)`,
    );
  }
  if (e.CEX_UNIT_ROUTES !== 'all') {
    const targets = PARTIAL_ROUTE_SET_TARGETS[e.CEX_UNIT_ROUTES];
    if (!e.FUNCTION_TARGET || !targets.includes(e.FUNCTION_TARGET)) {
      throw new ConfigError(
        `invalid configuration: CEX_UNIT_ROUTES: ${e.CEX_UNIT_ROUTES} is for FUNCTION_TARGET=${targets.join(' or ')}, not ${e.FUNCTION_TARGET ? `FUNCTION_TARGET=${e.FUNCTION_TARGET}` : 'the dev host (no FUNCTION_TARGET)'}`,
      );
    }
  }
  const local = (unit: string) => `http://127.0.0.1:${e.PORT}/units/${unit}`;
  return deepFreeze({
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databaseListenUrl: e.DATABASE_LISTEN_URL ?? e.DATABASE_URL,
    dbPooler: e.CEX_DB_POOLER,
    natsUrl: e.NATS_URL,
    natsAuth: {
      ...(e.NATS_CREDS_FILE ? { credsFile: e.NATS_CREDS_FILE } : {}),
      ...(e.NATS_NKEY_SEED_FILE ? { nkeySeedFile: e.NATS_NKEY_SEED_FILE } : {}),
      ...(e.NATS_TLS_CA_FILE ? { tlsCaFile: e.NATS_TLS_CA_FILE } : {}),
    },
    instanceName: e.CEX_INSTANCE_NAME,
    replicaId: e.CEX_REPLICA_ID,
    kpcInstanceName: e.KPC_INSTANCE_NAME,
    eprInstanceName: e.EPR_INSTANCE_NAME,
    commandTtlMillis: e.CEX_COMMAND_TTL_MILLIS,
    maxAwaitTimeoutSeconds: e.CEX_MAX_AWAIT_TIMEOUT_SECONDS,
    maxPayloadBytes: e.CEX_MAX_PAYLOAD_BYTES,
    historyRetentionDays: e.CEX_HISTORY_RETENTION_DAYS,
    tekton: { enabled: e.KAA_TEKTON_ENABLED, url: e.KAA_TEKTON_URL.replace(/\/+$/, ''), scmpProvider: e.KAA_SCMP_PROVIDER },
    tenantManagerUrl: e.TENANT_MANAGER_URL?.replace(/\/+$/, ''),
    tenantRefreshSeconds: e.CEX_TENANT_REFRESH_SECONDS,
    oauthIssuer: e.CEX_OAUTH_ISSUER,
    consoleClientId: e.CEX_CONSOLE_CLIENT_ID,
    auth: e.CEX_AUTH,
    authz: e.CEX_AUTHZ,
    serviceToken: e.CEX_SERVICE_TOKEN,
    callbackAllowedHosts: e.CEX_CALLBACK_ALLOWED_HOSTS,
    callbackSecret: e.CEX_CALLBACK_SECRET,
    internalAuth: {
      token: e.CEX_INTERNAL_TOKEN,
      accepted: [e.CEX_INTERNAL_TOKEN, e.CEX_INTERNAL_TOKEN_ALT].filter((t): t is string => t !== undefined),
    },
    corsAllowedOrigins: e.CEX_CORS_ALLOWED_ORIGINS,
    logLevel: e.CEX_LOG_LEVEL,
    functionTarget: e.FUNCTION_TARGET,
    unitRoutes: e.CEX_UNIT_ROUTES,
    repush: { initialMs: e.CEX_REPUSH_INITIAL_MS, maxMs: Math.max(e.CEX_REPUSH_MAX_MS, e.CEX_REPUSH_INITIAL_MS) },
    dbPoolMax: e.CEX_DB_POOL_MAX,
    functionUrls: {
      commandSubmit: e.CEX_COMMAND_SUBMIT_URL ?? local('command-submit'),
      espInbound: e.CEX_ESP_INBOUND_URL ?? local('esp-inbound'),
      scmpConfigReload: e.CEX_SCMP_CONFIG_RELOAD_URL ?? local('scmp-config-reload'),
    },
    bridgeUrl: (e.CEX_BRIDGE_URL ?? local('nats-bridge')).replace(/\/+$/, ''),
    efmpTimeoutMs: e.CEX_EFMP_TIMEOUT_MS,
    shutdownGraceMs: e.CEX_SHUTDOWN_GRACE_MS,
    callbacks: {
      timeoutMs: e.CEX_CALLBACK_TIMEOUT_MS,
      initialBackoffMs: e.CEX_CALLBACK_INITIAL_BACKOFF_MS,
      maxBackoffMs: Math.max(e.CEX_CALLBACK_MAX_BACKOFF_MS, e.CEX_CALLBACK_INITIAL_BACKOFF_MS),
      maxAgeMs: e.CEX_CALLBACK_MAX_AGE_MS,
    },
    maxWaiters: e.CEX_MAX_WAITERS,
    http: {
      headersTimeoutMs: e.CEX_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: Math.max(e.CEX_HTTP_REQUEST_TIMEOUT_MS, e.CEX_HTTP_HEADERS_TIMEOUT_MS),
    },
    peerTimeoutMs: e.CEX_PEER_TIMEOUT_MS,
    oidc: {
      timeoutMs: e.CEX_OIDC_TIMEOUT_MS,
      retryMs: e.CEX_OIDC_RETRY_MS,
      jwksCooldownMs: e.CEX_JWKS_COOLDOWN_MS,
      jwksMaxAgeMs: e.CEX_JWKS_MAX_AGE_MS,
    },
  });
}

/** Names of every variable the schema reads (used by the manifest checks). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
