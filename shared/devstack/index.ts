export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres.js';
export { placeEmbeddedPostgres, removeEmbeddedPostgresData, reachableByOthers, SHARED_PG_ROOT, type PgPlacement } from './pg-placement.js';
export { startNatsServer, findNatsServer, type NatsServer, type NatsServerOptions } from './nats-server.js';
export { freePort } from './ports.js';
export { processAlive, waitForExit } from './processes.js';
