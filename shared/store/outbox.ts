import type { TransactionSql } from '../db/index.js';
import type { Command, JsonValue } from '../domain/index.js';

/** What a cip_result outbox row carries: everything the CommandInvocationResult needs. */
export interface CipResultMessage {
  replySubject: string;
  correlationId: string;
  appVersionName: string | null;
  statusCode: number;
  reasonPhrase: string | null;
  payload: JsonValue | null;
}

/**
 * Asks the bridge to push the outstanding commands of (endpoint, type).
 * Requests coalesce into the one pending row of that pair; the generation bump
 * tells a bridge publishing right now that it must publish once more.
 */
export async function enqueuePush(
  tx: TransactionSql,
  endpointId: string,
  commandType: string,
  includeIds: readonly number[] = [],
): Promise<void> {
  await tx`
    INSERT INTO outbox (kind, endpoint_id, command_type, include_ids)
    VALUES ('push', ${endpointId}, ${commandType}, ${includeIds as number[]}::int[])
    ON CONFLICT (endpoint_id, command_type) WHERE kind = 'push' DO UPDATE
      SET generation   = outbox.generation + 1,
          include_ids  = outbox.include_ids || EXCLUDED.include_ids,
          available_at = LEAST(outbox.available_at, now())`;
}

/** Owes the command's CIP caller its result (or its expiry/deletion answer). */
export async function enqueueCipResult(tx: TransactionSql, command: Command): Promise<void> {
  if (!command.cipReplySubject) return;
  const message: CipResultMessage = {
    replySubject: command.cipReplySubject,
    correlationId: command.cipCorrelationId ?? '',
    appVersionName: command.appVersionName,
    statusCode: command.statusCode ?? 408,
    reasonPhrase: command.reasonPhrase,
    payload: command.responsePayload,
  };
  await tx`
    INSERT INTO outbox (kind, endpoint_id, command_type, command_id, message)
    VALUES ('cip_result', ${command.endpointId}, ${command.commandType}, ${command.commandId},
            ${JSON.stringify(message)}::text::jsonb)
    ON CONFLICT (endpoint_id, command_type, command_id) WHERE kind = 'cip_result' DO UPDATE
      SET message = EXCLUDED.message, available_at = now(), claimed_until = NULL`;
}
