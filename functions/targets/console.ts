// FUNCTION_TARGET=console as the image runs it (dist/bundles/console.mjs):
// only this unit and its root, so the bundle loads nothing of the others.
import { runUnit } from '../../shared/roots/unit.js';
import { startTarget } from '../../shared/roots/start.js';
import { operatorConsole } from '../console/index.js';

startTarget('console', (config) => runUnit(config, operatorConsole));
