/**
 * Registers every deployable unit with functions-framework (and the host's
 * unit registry). The image's entry imports this, then serves FUNCTION_TARGET.
 */
export { commandSubmit } from './command-submit/index.js';
export { espInbound } from './esp-inbound/index.js';
export { commandLookup } from './command-lookup/index.js';
export { historyListing } from './history-listing/index.js';
export { natsBridge } from './nats-bridge/index.js';
export { scmpConfigReload } from './scmp-config-reload/index.js';
export { operatorConsole } from './console/index.js';
