// FUNCTION_TARGET=command-lookup as the image runs it (dist/bundles/command-lookup.mjs):
// only this unit and its root, so the bundle loads nothing of the others.
import { runUnit } from '../../shared/roots/unit.js';
import { startTarget } from '../../shared/roots/start.js';
import { commandLookup } from '../command-lookup/index.js';

startTarget('command-lookup', (config) => runUnit(config, commandLookup));
