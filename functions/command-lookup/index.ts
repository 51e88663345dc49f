import { defineUnit } from '../../shared/host/units.js';

/** command-lookup: REST read and delete of one command. */
export const commandLookup = defineUnit({ name: 'command-lookup', routes: [] });
