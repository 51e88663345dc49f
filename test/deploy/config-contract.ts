/**
 * The environment variables Kaa's CEX contract names (its configuration
 * section), in its order, with the
 * default it gives where it gives one: facts carried into the repository in
 * our own words, so the tests check them without reading the contract from
 * outside the repository. `loadConfig({})` must give these defaults.
 */
export const SECTION_8: readonly { name: string; default?: { key: string; value: unknown } }[] = [
  { name: 'PORT', default: { key: 'port', value: 8080 } },
  { name: 'DATABASE_URL' },
  { name: 'NATS_URL' },
  { name: 'CEX_INSTANCE_NAME', default: { key: 'instanceName', value: 'cex' } },
  { name: 'CEX_REPLICA_ID' }, // random per process
  { name: 'KPC_INSTANCE_NAME', default: { key: 'kpcInstanceName', value: 'kpc' } },
  { name: 'EPR_INSTANCE_NAME', default: { key: 'eprInstanceName', value: 'epr' } },
  { name: 'CEX_COMMAND_TTL_MILLIS', default: { key: 'commandTtlMillis', value: 60_000 } },
  { name: 'CEX_MAX_AWAIT_TIMEOUT_SECONDS', default: { key: 'maxAwaitTimeoutSeconds', value: 60 } },
  { name: 'CEX_MAX_PAYLOAD_BYTES', default: { key: 'maxPayloadBytes', value: 262_144 } },
  { name: 'CEX_HISTORY_RETENTION_DAYS', default: { key: 'historyRetentionDays', value: 7 } },
  { name: 'KAA_TEKTON_ENABLED' },
  { name: 'KAA_TEKTON_URL' },
  { name: 'KAA_SCMP_PROVIDER' },
  { name: 'TENANT_MANAGER_URL' },
  { name: 'CEX_OAUTH_ISSUER' },
  { name: 'CEX_AUTH' },
  { name: 'CEX_AUTHZ' },
  { name: 'CEX_SERVICE_TOKEN' },
  { name: 'CEX_CALLBACK_ALLOWED_HOSTS' },
  { name: 'CEX_LOG_LEVEL', default: { key: 'logLevel', value: 'info' } },
  { name: 'FUNCTION_TARGET' },
];
