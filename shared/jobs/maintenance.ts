import { expireDue } from '../commands/index.js';
import { CHANNELS, OUTBOX_WORK, notify } from '../db/index.js';
import type { BridgeContext } from '../nats-bridge/context.js';
import { enqueueDueRepushes, foldApplicationTotals, outboxLag, purgeHistory } from '../store/index.js';
import { Loop } from './loop.js';

export interface MaintenanceSettings {
  repushIntervalMs: number;
  sweepIntervalMs: number;
  /** Commands expired per statement; a full batch runs the sweeper again at once. */
  sweepBatch: number;
  purgeIntervalMs: number;
  lagIntervalMs: number;
  /** How often the per-application totals' deltas are folded (migration 0006). */
  foldIntervalMs: number;
}

/**
 * Re-push and expiry run every second: the smallest re-push backoff (docs/nats-protocols.md) is
 * 5 s and an expired command should turn EXPIRED within about a second.
 * The retention purge has days of slack, so every 5 minutes is plenty.
 */
export const DEFAULT_MAINTENANCE_SETTINGS: MaintenanceSettings = {
  repushIntervalMs: 1_000,
  sweepIntervalMs: 1_000,
  sweepBatch: 1_000,
  purgeIntervalMs: 5 * 60_000,
  lagIntervalMs: 5_000,
  foldIntervalMs: 1_000,
};

// At most this many purge batches per run, so one run never hogs the pool.
const PURGE_BATCHES_PER_RUN = 20;
const PURGE_BATCH = 5_000;
// Deltas folded per statement: 1,000,000 deltas (a bulk load) folded in 2 s
// at 100,000 a statement; half that keeps each transaction well under a second.
const FOLD_BATCH = 50_000;

/**
 * The bridge's periodic database work. Every statement is safe in several
 * replicas at once (SKIP LOCKED, ON CONFLICT, an advisory lock for the
 * fold), so each replica simply runs
 * all of them; none needs NATS.
 */
export function startMaintenance(rt: BridgeContext, wakeDrainer: () => void, settings: MaintenanceSettings): Loop[] {
  const repush = new Loop(
    're-push scheduler',
    settings.repushIntervalMs,
    async () => {
      const written = await enqueueDueRepushes(rt.sql);
      if (written > 0) {
        // Other replicas share the work; this one starts at once.
        await notify(rt.sql, CHANNELS.outbox, [OUTBOX_WORK.bridge]);
        wakeDrainer();
      }
    },
    rt.log,
  );

  const sweep = new Loop(
    'expiry sweeper',
    settings.sweepIntervalMs,
    async () => {
      // expireDue NOTIFYs the command and outbox channels (CIP 408 answers).
      const expired = await expireDue(rt, settings.sweepBatch);
      if (expired.length > 0) rt.log.debug({ count: expired.length }, 'commands expired');
      return expired.length >= settings.sweepBatch;
    },
    rt.log,
  );

  const purge = new Loop(
    'history purge',
    settings.purgeIntervalMs,
    async () => {
      let total = 0;
      for (let i = 0; i < PURGE_BATCHES_PER_RUN; i++) {
        const deleted = await purgeHistory(rt.sql, rt.config.historyRetentionDays, PURGE_BATCH);
        total += deleted;
        if (deleted < PURGE_BATCH) break;
      }
      if (total > 0) rt.log.info({ deleted: total, retentionDays: rt.config.historyRetentionDays }, 'old commands purged');
    },
    rt.log,
  );

  const lag = new Loop(
    'outbox lag',
    settings.lagIntervalMs,
    async () => {
      const { push, cipResult, callback, callbacksWaiting } = await outboxLag(rt.sql);
      rt.metrics.outboxLagSeconds.set({ kind: 'push' }, push);
      rt.metrics.outboxLagSeconds.set({ kind: 'cip_result' }, cipResult);
      rt.metrics.outboxLagSeconds.set({ kind: 'callback' }, callback);
      rt.metrics.callbacksWaiting.set(callbacksWaiting);
    },
    rt.log,
  );

  // Readers of an application's totals sum the deltas not yet folded: folding
  // every second keeps those to about a second of changes.
  const fold = new Loop(
    'application totals fold',
    settings.foldIntervalMs,
    async () => (await foldApplicationTotals(rt.sql, FOLD_BATCH)) >= FOLD_BATCH,
    rt.log,
  );

  return [repush.start(), sweep.start(), purge.start(), lag.start(), fold.start()];
}
