/**
 * Pure mapping from what the store did to the 11/CEP answer an endpoint gets
 * (docs/nats-protocols.md, 4/ESP and 11/CEP). No I/O here, so every code and phrase has a fast test.
 */
import type { OutstandingCommand, ResultOutcome } from '../store/index.js';
import type { JsonValue } from '../domain/index.js';
import { kpErrorBody } from '../protocol/index.js';

/** The status, reason and JSON payload of one ExtensionData answer. */
export interface CepAnswer {
  statusCode: number;
  reasonPhrase: string | null;
  payload: unknown;
}

/** A 1/KP error answer: the body repeats statusCode and reasonPhrase. */
export function kpError(statusCode: number, reasonPhrase: string): CepAnswer {
  return { statusCode, reasonPhrase, payload: kpErrorBody(statusCode, reasonPhrase) };
}

/** The answer to `/command/{type}` (items without type) or `/command` (items with type). */
export function commandListAnswer(commands: readonly OutstandingCommand[], allTypes: boolean): CepAnswer {
  const items = commands.map((c) =>
    allTypes
      ? { id: c.commandId, type: c.commandType, payload: c.payload as JsonValue }
      : { id: c.commandId, payload: c.payload as JsonValue },
  );
  return { statusCode: 200, reasonPhrase: 'OK', payload: items };
}

type Failure = Exclude<ResultOutcome, 'recorded' | 'duplicate'>;

const FAILURES: Record<Failure, { statusCode: number; describe: (ids: string) => string }> = {
  not_found: { statusCode: 404, describe: (ids) => `unknown or deleted command id ${ids}` },
  expired: { statusCode: 410, describe: (ids) => `expired command id ${ids}` },
  conflict: { statusCode: 409, describe: (ids) => `a different result is already recorded for command id ${ids}` },
};

// A message may carry up to 1000 results; the reason names enough ids to act
// on without growing into kilobytes.
const MAX_IDS_NAMED = 10;

/**
 * The answer to `/result/{type}`: 200 when every result was accepted (new or
 * an identical repeat); otherwise the code of the first refused result in
 * message order, with a reason naming the refused ids of each kind.
 */
export function resultAnswer(idsInOrder: readonly number[], outcomes: ReadonlyMap<number, ResultOutcome>): CepAnswer {
  const refused = new Map<Failure, number[]>();
  let first: Failure | undefined;
  for (const id of new Set(idsInOrder)) {
    const outcome = outcomes.get(id) ?? 'not_found';
    if (outcome === 'recorded' || outcome === 'duplicate') continue;
    first ??= outcome;
    const ids = refused.get(outcome) ?? [];
    ids.push(id);
    refused.set(outcome, ids);
  }
  if (!first) return { statusCode: 200, reasonPhrase: 'OK', payload: kpErrorBody(200, 'OK') };
  const parts = [...refused].map(([failure, ids]) => FAILURES[failure].describe(listIds(ids)));
  return kpError(FAILURES[first].statusCode, parts.join('; '));
}

function listIds(ids: readonly number[]): string {
  const shown = ids.slice(0, MAX_IDS_NAMED).join(', ');
  return ids.length > MAX_IDS_NAMED ? `${shown} (and ${ids.length - MAX_IDS_NAMED} more)` : shown;
}
