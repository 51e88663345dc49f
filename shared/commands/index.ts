export { applicationOf, invokeCommand, recordEndpointResults, expireDue, removeCommand, notifyChanged } from './service.js';
