import { commandLookup } from './command-lookup/index.js';
import { commandSubmit } from './command-submit/index.js';
import { operatorConsole } from './console/index.js';
import { espInbound } from './esp-inbound/index.js';
import { historyListing } from './history-listing/index.js';
import { natsBridge } from './nats-bridge/index.js';
import { scmpConfigReload } from './scmp-config-reload/index.js';

export { commandSubmit, espInbound, commandLookup, historyListing, natsBridge, scmpConfigReload, operatorConsole };

/**
 * Every deployable unit of the image, in the order the dev host serves
 * them. The image's entry (main.ts) picks one by FUNCTION_TARGET.
 */
export const UNITS = [commandSubmit, espInbound, commandLookup, historyListing, natsBridge, scmpConfigReload, operatorConsole];
