// FUNCTION_TARGET=history-listing as the image runs it (dist/bundles/history-listing.mjs):
// only this unit and its root, so the bundle loads nothing of the others.
import { runUnit } from '../../shared/roots/unit.js';
import { startTarget } from '../../shared/roots/start.js';
import { historyListing } from '../history-listing/index.js';

startTarget('history-listing', (config) => runUnit(config, historyListing));
