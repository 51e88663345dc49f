import { defineUnit } from '../../shared/host/units.js';
import { handleCipEvent } from './cip.js';
import { invokeRoute } from './invoke.js';

/** command-submit: REST invoke (sync and async) and 12/CIP invocation requests. */
export const commandSubmit = defineUnit({ name: 'command-submit', routes: [invokeRoute], cloudEvent: handleCipEvent });
