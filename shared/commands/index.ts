export { invokeCommand, recordEndpointResults, expireDue, removeCommand, notifyChanged, type LocalWriteListeners } from './service.js';
export { createBatchCommands } from './batch.js';
export { ResultBatcher } from './result-batcher.js';
export { CreateBatcher } from './create-batcher.js';
