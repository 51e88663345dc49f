import { defineUnit } from '../../shared/host/units.js';
import { applicationRoute } from './application.js';
import { endpointHistoryRoute } from './endpoints.js';
import { batchTaskListRoute, batchTaskRoute } from './tasks.js';

/**
 * history-listing: REST lists of commands per endpoint and per application,
 * and batch tasks. No two of these paths overlap (the task paths have two or
 * three segments after `commands/`, the application list one).
 */
export const historyListing = defineUnit({
  name: 'history-listing',
  routes: [endpointHistoryRoute, batchTaskListRoute, batchTaskRoute, applicationRoute],
});
