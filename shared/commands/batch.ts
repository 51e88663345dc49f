import { createBatch, type CreatedBatch, type NewBatch } from '../store/index.js';
import { currentTraceparent, traceDb } from '../tracing/index.js';
import { notifyChanged, type WriteServices } from './service.js';

/**
 * Creates a batch: the task and one command per endpoint in one transaction
 * (store/batch.ts), then ONE NOTIFY statement after the commit: the outbox
 * hint for the bridge and the new keys for live streams (split over as many
 * payloads as 8000-byte NOTIFYs need: ~40 for 10,000 commands).
 */
export async function createBatchCommands(
  rt: WriteServices,
  input: Omit<NewBatch, 'tektonEnabled'>,
  source: 'filter' | 'endpoints',
): Promise<CreatedBatch> {
  // Every command of the batch joins the batch request's trace (tracing on).
  const traceparent = currentTraceparent();
  const created = await traceDb('INSERT', 'commands', () =>
    createBatch(rt.sql, { ...input, tektonEnabled: rt.config.tekton.enabled, ...(traceparent ? { traceparent } : {}) }),
  );
  if (created.commands.length > 0) {
    await notifyChanged(rt, [], { bridge: true }, created.commands);
    rt.metrics.commandsCreated.inc({ origin: 'batch' }, created.commands.length);
    rt.metrics.batchCommands.inc({ source }, created.commands.length);
  }
  return created;
}
