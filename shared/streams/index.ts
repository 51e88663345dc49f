import type { Runtime } from '../runtime/index.js';
import { StreamRegistry } from './registry.js';

/**
 * Live status (SSE) streams: a sibling of the sync waiters, fed by the same
 * LISTEN connection of the process.
 */
export { StreamRegistry, type StreamRegistryOptions } from './registry.js';
export { openEventStream, type EventSink } from './sse.js';
export { INITIAL_CURSOR, completeAt, decodeEndpointCursor, decodeVersion, encodeEndpointCursor, eventCursors } from './cursor.js';

const registries = new WeakMap<Runtime, StreamRegistry>();

/**
 * The stream registry of a runtime (one per process): created on first use;
 * every stream is ended when the runtime begins shutdown, so the server can
 * close (clients reconnect to another instance with Last-Event-ID).
 */
export function streamsFor(rt: Runtime): StreamRegistry {
  let registry = registries.get(rt);
  if (!registry) {
    const created = new StreamRegistry({
      sql: rt.sql,
      listener: () => rt.listener(),
      log: rt.log.child({ component: 'streams' }),
      onCountChange: (kind, n) => rt.metrics.liveStreams.set({ kind }, n),
    });
    rt.onShutdown(() => created.stop());
    registries.set(rt, (registry = created));
  }
  return registry;
}
