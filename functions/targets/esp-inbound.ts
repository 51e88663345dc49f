// FUNCTION_TARGET=esp-inbound as the image runs it (dist/bundles/esp-inbound.mjs):
// only this unit and its root, so the bundle loads nothing of the others.
import { runUnit } from '../../shared/roots/unit.js';
import { startTarget } from '../../shared/roots/start.js';
import { espInbound } from '../esp-inbound/index.js';

startTarget('esp-inbound', (config) => runUnit(config, espInbound));
