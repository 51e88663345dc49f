export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres.js';
export { startNatsServer, findNatsServer, type NatsServer, type NatsServerOptions } from './nats-server.js';
export { freePort } from './ports.js';
export { processAlive, waitForExit } from './processes.js';
