export { invokeCommand, recordEndpointResults, expireDue, removeCommand, notifyChanged } from './service.js';
export { createBatchCommands } from './batch.js';
