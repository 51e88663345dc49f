/**
 * The endpoint side of CEX: 4/ESP ClientData carrying 11/CEP (polls,
 * observe, results), 9/ELCE connectivity, and the pure 12/CIP checks, for
 * the esp-inbound and command-submit functions.
 */
export { handleClientDataEvent } from './client-data.js';
export { handleConnectivityEvent } from './connectivity.js';
export { commandListAnswer, kpError, resultAnswer, type CepAnswer } from './cep-answers.js';
export { checkCipRequest, encodeCipRefusal, type RefusedCipRequest, type ValidCipRequest } from './cip-request.js';
export { eventBytes, eventExtension, eventResponseSubject, eventSummary, responseSubject } from './event.js';
export { DEFAULT_TENANT, tenantOfEndpoint } from './tenant.js';
