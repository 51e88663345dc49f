/**
 * Every SQL statement of CEX lives in this folder, as functions taking `sql`
 * first. Callers send NOTIFY hints after these return.
 */
export { createCommand, createPlainCommands, isPlainCreate, readCommand, readCommandsNewerThan, deleteCommand } from './commands.js';
export type { KnownCommand, NewerCommands } from './commands.js';
export type { NewCommand, CreateOutcome, DeleteOutcome, PlainCreate, ClaimPush } from './commands.js';
export { recordResults, recordPlainResults } from './results.js';
export type { ResultInput, ResultOutcome, RecordedResults, PlainResults } from './results.js';
export { expireDueCommands, purgeHistory } from './expiry.js';
export type { ExpiredCommands } from './expiry.js';
export { takeOutstanding } from './outstanding.js';
export type { OutstandingCommand } from './outstanding.js';
export { listEndpointHistory, listApplicationPage, countApplication, foldApplicationTotals } from './history.js';
export type { HistoryFilter, ApplicationQuery, KeysetPosition, SortField, SortOrder } from './history.js';
export { noteAppVersion, setOnline, setObserve, readEndpointState, readEndpointAppVersion } from './endpoints.js';
export type { EndpointState } from './endpoints.js';
export {
  enqueuePush,
  enqueueCipResult,
  claimDueOutbox,
  releaseOutbox,
  completeCipResult,
  discardOutbox,
  outboxLag,
  CALLBACKS_COUNTED,
} from './outbox.js';
export type { OutboxLag } from './outbox.js';
export type { CipResultMessage, OutboxRow } from './outbox.js';
export {
  readPushCommands,
  claimDueBatch,
  completePush,
  completePushes,
  skipPush,
  dropEmptyPush,
  enqueueDueRepushes,
  enqueuePushesForEndpoints,
} from './push.js';
export type { PushCommand, PushedCommand, PushPlan, PublishedPush, ClaimedRow, CompletedPushes } from './push.js';
export { saveTektonSnapshot, loadTektonSnapshot, revokeTenant, restoreTenant, listRevokedTenants } from './tenancy.js';
export type { AppVersionEntry, TektonSnapshot } from './tenancy.js';
export { enqueueCallbacks } from './outbox.js';
export type { CallbackMessage } from './outbox.js';
export { claimDueCallbacks, completeCallback, retryCallback } from './callbacks.js';
export type { CallbackRow } from './callbacks.js';
export { createBatch } from './batch.js';
export type { NewBatch, BatchEndpoint, CreatedBatch } from './batch.js';
export { readBatchTask, listBatchTasks } from './batch-tasks.js';
export type { BatchTaskSummary, BatchTaskDetail, TaskCommand, TaskResult, TaskQuery, TaskSortField } from './batch-tasks.js';
export { readEndpointChanges } from './streams.js';
export type { EndpointCursor, EndpointStreamRead, EndpointChange } from './streams.js';
