import type { Logger } from '../log/index.js';
import type { TracingHooks } from './hooks.js';
import { setUpSdk } from './sdk.js';
import { createHooks } from './spans.js';

/**
 * What startTracing() imports when tracing is on, and nothing imports
 * otherwise: the SDK, its exporters and the span hooks. scripts/bundle.mjs
 * makes it a bundle of its own (dist/bundles/tracing.mjs), so a function's
 * bundle neither loads nor compiles it while tracing is off.
 */
export function setUpTracing(process_: { unit: string; replicaId: string }, log: Logger, env: NodeJS.ProcessEnv): TracingHooks {
  const sdk = setUpSdk(process_, log, env);
  return createHooks(() => sdk.shutdown());
}
