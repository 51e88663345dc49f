import { CREATED_MARK, changeHint, type ChangeFeed } from '../changes/index.js';
import type { LocalDrainerWake } from '../bridge/local-events.js';
import type { ResultBatcher } from './result-batcher.js';
import type { CreateBatcher } from './create-batcher.js';
import { CHANNELS, OUTBOX_WORK, commandKey, notifyAll, type Notification, type NotifyBatcher } from '../db/index.js';
import type { Command, CommandRef } from '../domain/index.js';
import type { Runtime } from '../runtime/index.js';
import { currentTraceparent, traceDb, traceResults } from '../tracing/index.js';
import {
  createCommand,
  deleteCommand,
  expireDueCommands,
  recordResults,
  type CreateOutcome,
  type NewCommand,
  type RecordedResults,
  type ResultInput,
} from '../store/index.js';

/**
 * The write paths every unit shares: the store call, then the NOTIFY hints
 * right after its commit (never inside it: docs/architecture.md), then metrics. REST
 * invoke, 12/CIP and batch all create commands here; esp-inbound records
 * results here; the sweeper expires here.
 */

/**
 * What the write paths use; with `changes` and `localDrainer` (a process
 * that serves waiters or runs a bridge), its own watchers and drainer learn
 * of a write at once, before the NOTIFY that tells every instance.
 */
export type WriteServices = Pick<Runtime, 'config' | 'sql' | 'metrics'> & LocalWriteListeners;

export interface LocalWriteListeners {
  /** Sends the NOTIFY hints, grouped with other writes' under load (shared/db/notify.ts); without it each write sends its own. */
  notifier?: Pick<NotifyBatcher, 'send'>;
  changes?: Pick<ChangeFeed, 'tellLocal'>;
  /** Runs plain REST creates grouped with other writes' under load; without it each create runs its own statement. */
  creates?: Pick<CreateBatcher, 'create'>;
  /** Records results' plain share grouped with other writes' under load; without it each result runs its own statement. */
  results?: Pick<ResultBatcher, 'record'>;
  localDrainer?: Pick<LocalDrainerWake, 'trigger'> & Partial<Pick<LocalDrainerWake, 'claimLease' | 'offer'>>;
}

// The application of an app version is derived in SQL by cex_application_of
// (migration 0005) on every path; the store is told only whether Tekton is on.

export async function invokeCommand(rt: WriteServices, input: Omit<NewCommand, 'tektonEnabled'>): Promise<CreateOutcome> {
  // A drainer in this process (dev host) that can publish now: the create
  // claims its push row for it, and it publishes with no claim of its own.
  // The invoke's context rides on the command row (tracing on): its push,
  // result and answers, sent later and by other processes, join its trace.
  const leaseMs = rt.localDrainer?.claimLease?.();
  const traceparent = currentTraceparent();
  const outcome = await traceDb('INSERT', 'commands', () =>
    createCommand(
      rt.sql,
      { ...input, tektonEnabled: rt.config.tekton.enabled, ...(traceparent ? { traceparent } : {}) },
      leaseMs ? { leaseMs } : undefined,
      rt.creates ? (plain) => rt.creates!.create(plain) : undefined,
    ),
  );
  if (outcome.claimed) rt.localDrainer?.offer?.([outcome.claimed]);
  // The new key wakes the endpoint's live streams; it rides in the same
  // statement as the outbox hint, so a create still costs one NOTIFY round
  // trip. This process's drainer is woken before it (notifyChanged). Left
  // unawaited, NOTIFYs piled up pipelined on the pool's connections, and
  // under pg_terminate_backend one caller never got its answer (fault suite,
  // pg-terminate): a pipelined query can hang for good there (the bridge's
  // pool is unpipelined for the same reason).
  // A row claimed for this process's drainer is work for no other: no outbox hint.
  await notifyChanged(rt, [], { bridge: outcome.outboxWritten && !outcome.claimed }, outcome.created ? [outcome.command] : []);
  if (outcome.created) rt.metrics.commandsCreated.inc({ origin: input.origin });
  return outcome;
}

export async function recordEndpointResults(
  rt: WriteServices,
  endpointId: string,
  commandType: string,
  results: readonly ResultInput[],
  appVersionName: string | null,
): Promise<RecordedResults> {
  const started = Date.now();
  const recorded = await traceDb('UPDATE', 'commands', () =>
    recordResults(
      rt.sql,
      endpointId,
      commandType,
      results,
      appVersionName,
      rt.config.tekton.enabled,
      rt.results ? (group) => rt.results!.record(group) : undefined,
    ),
  );
  traceResults(recorded.executed, started);
  // This process's waiters were told before it (notifyChanged); awaited, see invokeCommand.
  await notifyChanged(rt, recorded.executed, { bridge: recorded.outboxWritten, callbacks: recorded.callbacksWritten });
  rt.metrics.commandsExecuted.inc(recorded.executed.length);
  return recorded;
}

export async function expireDue(rt: Pick<Runtime, 'sql' | 'metrics'> & LocalWriteListeners, limit = 1000): Promise<Command[]> {
  const { expired, outboxWritten, callbacksWritten } = await expireDueCommands(rt.sql, limit);
  await notifyChanged(rt, expired, { bridge: outboxWritten, callbacks: callbacksWritten });
  rt.metrics.commandsExpired.inc(expired.length);
  return expired;
}

export async function removeCommand(rt: Pick<Runtime, 'sql'>, tenantId: string, ref: CommandRef): Promise<boolean> {
  const { deleted, outboxWritten } = await deleteCommand(rt.sql, tenantId, ref);
  if (deleted) await notifyChanged(rt, [ref], { bridge: outboxWritten });
  return deleted;
}

/**
 * Wakes sync waiters and live streams on every instance (`changed`; the
 * `created` ones only wake streams), and the outbox
 * drainer: both hints in ONE statement (notifyAll), so a change costs one
 * NOTIFY round trip and one turn of the NOTIFY queue lock, not two.
 */
export async function notifyChanged(
  rt: Pick<Runtime, 'sql'> & LocalWriteListeners,
  changed: readonly CommandRef[],
  outbox: { bridge?: boolean; callbacks?: boolean },
  created: readonly CommandRef[] = [],
): Promise<void> {
  // This process's own drainer and watchers first: they need not wait for the round trip.
  if (outbox.bridge) rt.localDrainer?.trigger();
  const rows = changed.filter(isCommand);
  if (rows.length > 0) rt.changes?.tellLocal(rows);
  const hints: Notification[] = [];
  const work = [outbox.bridge ? OUTBOX_WORK.bridge : '', outbox.callbacks ? OUTBOX_WORK.callbacks : ''].filter(Boolean);
  if (work.length > 0) hints.push({ channel: CHANNELS.outbox, keys: [work.join(',')] });
  // Created keys carry CREATED_MARK: they wake endpoint streams, not the
  // watchers of a command. A changed command's hint carries its row when the
  // caller has it (changeHint): its watchers need not read it again.
  const keys = [...changed.map((c) => (isCommand(c) ? changeHint(c) : commandKey(c))), ...created.map((c) => CREATED_MARK + commandKey(c))];
  if (keys.length > 0) hints.push({ channel: CHANNELS.command, keys });
  if (hints.length > 0) await (rt.notifier ? rt.notifier.send(hints) : notifyAll(rt.sql, hints));
}

function isCommand(ref: CommandRef): ref is Command {
  return 'version' in ref && 'status' in ref;
}
