// FUNCTION_TARGET=command-submit as the image runs it (dist/bundles/command-submit.mjs):
// only this unit and its root, so the bundle loads nothing of the others.
import { runUnit } from '../../shared/roots/unit.js';
import { startTarget } from '../../shared/roots/start.js';
import { commandSubmit } from '../command-submit/index.js';

startTarget('command-submit', (config) => runUnit(config, commandSubmit));
