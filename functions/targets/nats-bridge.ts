// FUNCTION_TARGET=nats-bridge as the image runs it (dist/bundles/nats-bridge.mjs):
// only the bridge and its root, so the bundle loads none of the functions.
import { runBridge } from '../../shared/roots/bridge.js';
import { startTarget } from '../../shared/roots/start.js';
import { natsBridge } from '../nats-bridge/index.js';

startTarget('nats-bridge', (config) => runBridge(config, natsBridge));
