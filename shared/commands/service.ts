import { CHANNELS, commandKey, notify, notifyAll, type Notification } from '../db/index.js';
import type { Command, CommandRef } from '../domain/index.js';
import type { Runtime } from '../runtime/index.js';
import type { TenancyState } from '../tenancy/index.js';
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

/** What the write paths use: the core, and tenancy for the app version → application rule. */
export type WriteServices = Pick<Runtime, 'config' | 'sql' | 'metrics'> & { readonly tenancy: TenancyState };

/** The application of an app version (Tekton's map when enabled, else name minus its last -suffix). */
export function applicationOf(rt: { readonly tenancy: TenancyState }, appVersionName: string): string | null {
  return rt.tenancy.applicationOf(appVersionName);
}

export async function invokeCommand(rt: WriteServices, input: Omit<NewCommand, 'applicationOf'>): Promise<CreateOutcome> {
  const outcome = await createCommand(rt.sql, {
    ...input,
    applicationOf: (v) => applicationOf(rt, v),
    tektonEnabled: rt.config.tekton.enabled,
  });
  // The new key wakes the endpoint's live streams; it rides in the same
  // statement as the outbox hint, so a create still costs one NOTIFY round trip.
  const hints: Notification[] = [];
  if (outcome.outboxWritten) hints.push({ channel: CHANNELS.outbox });
  if (outcome.created) hints.push({ channel: CHANNELS.command, keys: [commandKey(outcome.command)] });
  if (hints.length > 0) await notifyAll(rt.sql, hints);
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
  const application = appVersionName ? applicationOf(rt, appVersionName) : null;
  const recorded = await recordResults(rt.sql, endpointId, commandType, results, appVersionName, application);
  await notifyChanged(rt, recorded.executed, recorded.outboxWritten);
  rt.metrics.commandsExecuted.inc(recorded.executed.length);
  return recorded;
}

export async function expireDue(rt: Pick<Runtime, 'sql' | 'metrics'>, limit = 1000): Promise<Command[]> {
  const { expired, outboxWritten } = await expireDueCommands(rt.sql, limit);
  await notifyChanged(rt, expired, outboxWritten);
  rt.metrics.commandsExpired.inc(expired.length);
  return expired;
}

export async function removeCommand(rt: Pick<Runtime, 'sql'>, tenantId: string, ref: CommandRef): Promise<boolean> {
  const { deleted, outboxWritten } = await deleteCommand(rt.sql, tenantId, ref);
  if (deleted) await notifyChanged(rt, [ref], outboxWritten);
  return deleted;
}

/** Wakes sync waiters and live streams on every instance, and the outbox drainer. */
export async function notifyChanged(rt: Pick<Runtime, 'sql'>, changed: readonly CommandRef[], outboxWritten: boolean): Promise<void> {
  if (changed.length > 0) await notify(rt.sql, CHANNELS.command, changed.map(commandKey));
  if (outboxWritten) await notify(rt.sql, CHANNELS.outbox);
}
