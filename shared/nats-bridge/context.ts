import type { Runtime } from '../runtime/index.js';

/**
 * What the bridge's parts (drainer, callbacks, maintenance) use: the
 * process's config, log, metrics and LISTEN connection, with the bridge's
 * own query pool as `sql` (startBridge builds it, so a burst of invokes in
 * the dev host cannot starve the pushes).
 */
export type BridgeContext = Pick<Runtime, 'unit' | 'config' | 'log' | 'metrics' | 'listener' | 'sql'>;
