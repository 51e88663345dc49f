import { defineUnit } from '../../shared/host/units.js';

/** history-listing: REST lists of commands per endpoint and per application. */
export const historyListing = defineUnit({ name: 'history-listing', routes: [] });
