import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import '../setup/provided.js';

/** The run's NATS server (NATS_URL, a container, or a nats-server child). */
export function testNatsUrl(): string {
  return inject('natsUrl');
}

/**
 * `<label>-<8 hex>`: a name no other test file uses, for queue groups,
 * subjects and streams on the shared server. Only [a-z0-9-], so it is one
 * valid subject token.
 */
export function uniquePrefix(label = 'test'): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * A CEX service instance name of its own (`cex-<8 hex>`). Subjects embed the
 * instance name (`kaa.v1.service.{cex}.…`), so two files using different
 * names never see each other's messages on one server.
 */
export function uniqueInstanceName(): string {
  return uniquePrefix('cex');
}
