export { createPool, withTransaction, sleep, quoteIdent, type Sql, type TransactionSql } from './pool.js';
export { PgListener, type NotificationHandler, type ReconnectHook } from './listener.js';
export { migrate, migrationsApplied, readMigrations, MIGRATIONS_DIR } from './migrate.js';
export {
  CHANNELS,
  OUTBOX_WORK,
  outboxHintFor,
  commandKey,
  parseCommandKey,
  notify,
  notifyAll,
  NotifyBatcher,
  mergeNotifications,
  type Notification,
  type OutboxWork,
} from './notify.js';
export { StatementBatcher, type StatementBatcherOptions } from './statement-batcher.js';
