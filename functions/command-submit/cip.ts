/**
 * 12/CIP command invocation requests (docs/nats-protocols.md, 12/CIP), forwarded by the bridge
 * as CloudEvents to command-submit's POST /cloudevents. The command is
 * created through the same write path as REST invoke (command row + push in
 * one transaction, NOTIFY after commit). The caller's id is used as is, and
 * its reply subject and correlationId are stored with the command, so the
 * result (published by the bridge from the outbox on EXECUTED or EXPIRED)
 * survives restarts. Only refusals are answered from here, at once.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { answer, type FunctionAnswer } from '../../shared/bridge/contract.js';
import { invokeCommand } from '../../shared/commands/index.js';
import {
  checkCipRequest,
  encodeCipRefusal,
  eventBytes,
  eventResponseSubject,
  eventSummary,
  tenantOfEndpoint,
} from '../../shared/endpoint/index.js';
import { kpStatusOf, toCexError } from '../../shared/errors/index.js';
import { forCommand, type Logger } from '../../shared/log/index.js';
import { decodeCommandInvocationRequest, isExpired, MESSAGE_TYPES, type CommandInvocationRequest } from '../../shared/protocol/index.js';
import type { Services } from '../../shared/roots/services.js';

// ttl_millis is a Postgres integer; a longer CIP timeout means "very long".
const MAX_TTL_MILLIS = 2_147_483_647;

/**
 * Handles one CommandInvocationRequest event. Returns the refusal to publish
 * (400 invalid, 413 too large, 409 id in use) when the request has a reply
 * subject, else undefined (204). Expired requests are logged and dropped
 * (204: nobody waits any more); bytes that do not decode throw
 * ProtocolDecodeError (400, a bad event: there is no id to answer for). A
 * database failure is thrown as 503, which the bridge retries (the create is
 * idempotent for one id and payload: a retry is a CIP retry).
 */
export async function handleCipEvent(event: CloudEvent<unknown>, rt: Services): Promise<FunctionAnswer | undefined> {
  const log = rt.log.child({ component: 'cip' });
  const request = decode(event, log);
  const { endpointId, commandType, commandId, correlationId } = request;
  const clog = forCommand(log, { correlationId, endpointId, commandType, commandId });
  if (isExpired(request, Date.now())) {
    clog.warn({ timestamp: request.timestamp, timeout: request.timeout }, 'expired 12/CIP request dropped');
    return undefined;
  }
  const replySubject = eventResponseSubject(event, MESSAGE_TYPES.commandResult);
  const refuse = (statusCode: number, reasonPhrase: string): FunctionAnswer | undefined => {
    clog.info({ statusCode, reason: reasonPhrase, answered: replySubject !== undefined }, '12/CIP request refused');
    if (replySubject === undefined) return undefined;
    return answer([{ subject: replySubject, data: encodeCipRefusal(request, statusCode, reasonPhrase) }]);
  };

  const checked = checkCipRequest(request, rt.config.maxPayloadBytes);
  if (!checked.ok) return refuse(checked.statusCode, checked.reasonPhrase);
  try {
    const outcome = await invokeCommand(rt, {
      tenantId: await tenantOfEndpoint(rt, endpointId),
      endpointId,
      commandType,
      commandId,
      payload: checked.payload,
      ttlMillis: ttlOf(rt, request),
      // Nobody waits synchronously on a CIP command: its result goes out as a message.
      awaitTimeoutSeconds: 0,
      origin: 'cip',
      ...(replySubject === undefined ? {} : { cipReplySubject: replySubject }),
      cipCorrelationId: correlationId,
    });
    clog.info(
      { created: outcome.created, status: outcome.command.status, answered: replySubject !== undefined },
      outcome.created ? '12/CIP command created' : '12/CIP retry of an existing command',
    );
    return undefined;
  } catch (err) {
    const cex = toCexError(err);
    // A refusal (the id is in use; a payload Postgres refuses, e.g. \u0000 in a string) is the
    // caller's mistake and is answered with its 1/KP status; anything else is an outage.
    const kpStatus = kpStatusOf(cex.code);
    if (kpStatus !== undefined) return refuse(kpStatus, cex.message);
    clog.warn({ err: cex }, '12/CIP request failed; the bridge retries');
    throw cex;
  }
}

/** TTL = the message's timeout when it has one (docs/nats-protocols.md, 12/CIP), else the configured default. */
function ttlOf(rt: Services, request: CommandInvocationRequest): number {
  return request.timeout > 0 ? Math.min(request.timeout, MAX_TTL_MILLIS) : rt.config.commandTtlMillis;
}

function decode(event: CloudEvent<unknown>, log: Logger): CommandInvocationRequest {
  const bytes = eventBytes(event);
  try {
    return decodeCommandInvocationRequest(bytes);
  } catch (err) {
    log.info({ err, ...eventSummary(event), bytes: bytes.length }, 'undecodable 12/CIP request refused: no answer is possible');
    throw err;
  }
}
