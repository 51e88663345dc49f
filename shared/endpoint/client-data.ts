/**
 * esp-inbound's handling of one 4/ESP ClientData carrying 11/CEP
 * (docs/nats-protocols.md): polls of outstanding commands, with the observe flag, and results.
 * Every ClientData that can be decoded and has not expired gets exactly one
 * ExtensionData answer; the bridge publishes it.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { answer, type FunctionAnswer } from '../bridge/contract.js';
import { recordEndpointResults, type LocalWriteListeners } from '../commands/index.js';
import { ENDPOINT_ID_PATTERN } from '../domain/index.js';
import { kpStatusOf, toCexError } from '../errors/index.js';
import { forCommand, type Logger } from '../log/index.js';
import {
  decodeClientData,
  encodeExtensionData,
  encodeJsonPayload,
  espExtensionDataSubject,
  isExpired,
  MESSAGE_TYPES,
  parseCommandRequest,
  parseResourcePath,
  parseResultRequest,
  PayloadError,
  type ClientData,
} from '../protocol/index.js';
import type { Runtime } from '../runtime/index.js';
import type { TenancyState } from '../tenancy/index.js';
import { noteAppVersion, setObserve, takeOutstanding, type ResultInput } from '../store/index.js';
import { commandListAnswer, kpError, resultAnswer, type CepAnswer } from './cep-answers.js';
import { eventBytes, eventResponseSubject, eventSummary } from './event.js';
import { RecentVersions } from './version-cache.js';

/** What esp-inbound uses of its process's services. */
/** With the change feed and the drainer wake, so results recorded here reach this process's waiters at once. */
export type ClientDataServices = Runtime & {
  readonly tenancy: TenancyState;
  readonly recentVersions: RecentVersions;
} & LocalWriteListeners;

/**
 * Handles a ClientData event: the ExtensionData answer to publish, or
 * undefined (204) when the message expired. Bytes that do not decode throw
 * ProtocolDecodeError (400: a bad event; with no requestId or endpoint there
 * is nobody to answer). Database failures are thrown as 503, never answered:
 * a KP status made up without the database would be a lie, and the bridge
 * retries a 5xx.
 */
export async function handleClientDataEvent(rt: ClientDataServices, event: CloudEvent<unknown>): Promise<FunctionAnswer | undefined> {
  const log = rt.log.child({ component: 'esp-inbound' });
  const message = decodeEvent(event, log);
  const mlog = forCommand(log, { correlationId: message.correlationId, endpointId: message.endpointId ?? undefined });
  const now = Date.now();
  if (isExpired(message, now)) {
    mlog.warn({ resourcePath: message.resourcePath, timestamp: message.timestamp, timeout: message.timeout }, 'expired ClientData dropped');
    return undefined;
  }
  const result = await answerClientData(rt, message, mlog);
  const subject = eventResponseSubject(event, MESSAGE_TYPES.extensionData) ?? espExtensionDataSubject(rt.config.kpcInstanceName);
  const data = encodeExtensionData({
    correlationId: message.correlationId,
    timestamp: now,
    // The answer is worth as much as the request was: it expires with it.
    timeout: message.timeout > 0 ? Math.max(1, message.timestamp + message.timeout - now) : 0,
    appVersionName: message.appVersionName,
    extensionInstanceName: rt.config.instanceName,
    endpointId: message.endpointId,
    resourcePath: message.resourcePath,
    requestId: message.requestId,
    payload: encodeJsonPayload(result.payload),
    statusCode: result.statusCode,
    reasonPhrase: result.reasonPhrase,
  });
  return answer([{ subject, data }]);
}

function decodeEvent(event: CloudEvent<unknown>, log: Logger): ClientData {
  const bytes = eventBytes(event);
  try {
    return decodeClientData(bytes);
  } catch (err) {
    log.info({ err, ...eventSummary(event), bytes: bytes.length }, 'undecodable ClientData refused: no answer is possible');
    throw err;
  }
}

/**
 * The 11/CEP answer to one valid, live ClientData; throws only when the
 * database fails. The statements a message needs are independent of each
 * other, so they run at once on separate pool connections: one round trip of
 * latency instead of two or three. On the loaded 2-core dev machine the gain
 * was within noise (poll p50 4.2-4.3 ms vs 4.5-5.2 ms in-process); it grows
 * with the network round trip to a remote database.
 */
async function answerClientData(rt: ClientDataServices, message: ClientData, log: Logger): Promise<CepAnswer> {
  const { endpointId, appVersionName } = message;
  if (endpointId === null) return refuse(log, message, 'endpointId is missing; CEX serves identified endpoints only');
  if (!ENDPOINT_ID_PATTERN.test(endpointId)) {
    return refuse(log, message, 'invalid endpointId; it must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", "~" or "-"');
  }
  // Postgres text cannot hold NUL: refused here, before a poll marks anything fetched.
  if (appVersionName.includes('\u0000')) return refuse(log, message, 'appVersionName must not contain \\u0000');
  // With Tekton on, only listed app versions are served (docs/configuration.md, KAA_TEKTON_ENABLED).
  if (!rt.tenancy.isKnownAppVersion(appVersionName)) {
    log.info({ appVersionName, resourcePath: message.resourcePath }, 'ClientData of an unlisted app version refused with 404');
    return kpError(404, `application version "${appVersionName}" is not configured for this CEX`);
  }
  // Learned from every message of a known endpoint, even one refused below:
  // the endpoint exists and runs that version whatever it asked.
  const recent = rt.recentVersions;
  const learning =
    appVersionName !== '' && !recent.has(endpointId, appVersionName)
      ? noteAppVersion(rt.sql, endpointId, appVersionName).then(() => recent.remember(endpointId, appVersionName))
      : Promise.resolve();
  // Both are awaited whatever happens, so the answer leaves after the version
  // is stored, and a failure of either is seen.
  const [acted, learned] = await Promise.allSettled([act(rt, message, endpointId, log), learning]);
  if (acted.status === 'rejected') {
    const err: unknown = acted.reason;
    // A refusal is the right answer whether or not the database works.
    if (err instanceof PayloadError) return refuse(log, message, err.message);
    const cex = toCexError(err);
    // What Postgres refuses in a payload (a \u0000 in a JSON string) is the device's mistake, not an outage.
    if (kpStatusOf(cex.code) === 400) return refuse(log, message, cex.message);
    throw cex;
  }
  if (learned.status === 'rejected') throw toCexError(learned.reason);
  return acted.value;
}

/** Serves the resource path; PayloadError for anything the contract refuses. */
async function act(rt: ClientDataServices, message: ClientData, endpointId: string, log: Logger): Promise<CepAnswer> {
  const path = parseResourcePath(message.resourcePath);
  if (path.kind === 'command') {
    const request = parseCommandRequest(message.payload);
    // '*' is the all-types flag: it applies to every type without its own.
    // The flag decides future pushes only, so it need not be stored before the list is read.
    const [commands] = await Promise.all([
      takeOutstanding(rt.sql, endpointId, path.commandType),
      request.observe === undefined ? undefined : setObserve(rt.sql, endpointId, path.commandType ?? '*', request.observe),
    ]);
    log.debug({ commandType: path.commandType, observe: request.observe, returned: commands.length }, 'command poll answered');
    return commandListAnswer(commands, path.commandType === null);
  }
  const items = parseResultRequest(message.payload);
  const results: ResultInput[] = items.map((r) => ({
    commandId: r.id,
    statusCode: r.statusCode,
    reasonPhrase: r.reasonPhrase,
    // Absent and null both mean "no payload" (stored as NULL), so a repeat
    // of the same result in the other spelling still counts as identical.
    ...(r.payload === null ? {} : { payload: r.payload as ResultInput['payload'] }),
  }));
  const recorded = await recordEndpointResults(rt, endpointId, path.commandType, results, message.appVersionName || null);
  const reply = resultAnswer(
    items.map((r) => r.id),
    recorded.outcomes,
  );
  const logLine = { commandType: path.commandType, results: items.length, executed: recorded.executed.length };
  if (reply.statusCode === 200) log.debug(logLine, 'results recorded');
  else log.info({ ...logLine, statusCode: reply.statusCode, reason: reply.reasonPhrase }, 'results partly refused');
  return reply;
}

function refuse(log: Logger, message: ClientData, reason: string): CepAnswer {
  log.info({ resourcePath: message.resourcePath, reason }, 'ClientData refused with 400');
  return kpError(400, reason);
}
