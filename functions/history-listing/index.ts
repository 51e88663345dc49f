import { defineUnit } from '../../shared/host/units.js';
import { applicationRoute } from './application.js';
import { endpointHistoryRoute } from './endpoints.js';

/** history-listing: REST lists of commands per endpoint and per application. */
export const historyListing = defineUnit({ name: 'history-listing', routes: [endpointHistoryRoute, applicationRoute] });
