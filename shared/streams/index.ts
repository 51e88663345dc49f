/**
 * Live status (SSE) streams: a sibling of the sync waiters, fed by the same
 * change feed of the process (shared/changes).
 */
export { StreamRegistry, type StreamRegistryOptions } from './registry.js';
export { openEventStream, type EventSink } from './sse.js';
export { INITIAL_CURSOR, completeAt, decodeEndpointCursor, decodeVersion, encodeEndpointCursor, eventCursors } from './cursor.js';
