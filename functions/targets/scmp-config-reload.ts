// FUNCTION_TARGET=scmp-config-reload as the image runs it (dist/bundles/scmp-config-reload.mjs):
// only this unit and its root, so the bundle loads nothing of the others.
import { runUnit } from '../../shared/roots/unit.js';
import { startTarget } from '../../shared/roots/start.js';
import { scmpConfigReload } from '../scmp-config-reload/index.js';

startTarget('scmp-config-reload', (config) => runUnit(config, scmpConfigReload));
