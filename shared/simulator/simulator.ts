import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  decodeExtensionData,
  encodeEndpointConnectedEvent,
  encodeEndpointDisconnectedEvent,
  espClientDataSubject,
  espExtensionDataSubject,
  eventSubject,
  MESSAGE_TYPES,
  replicaSubject,
  type ExtensionData,
} from '../protocol/index.js';
import { Requester, RequestTimeoutError } from './requester.js';
import { ResultSender, WorkTracker } from './results.js';
import type { CommandHandler, SimCommand, SimDelivery, SimResult, Simulator, SimulatorOptions, SimulatorStats } from './types.js';

const echo: CommandHandler = (command) => ({ statusCode: 200, reasonPhrase: 'OK', payload: command.payload });
// Polls at start go out this many at a time, so 10,000 endpoints do not flood the bridge at once.
const POLL_CONCURRENCY = 64;
// Endpoints per 9/ELCE event, keeping each message far below NATS's 1 MiB default payload limit.
const ENDPOINTS_PER_EVENT = 1000;

/**
 * Starts N simulated endpoints behind a simulated communication service
 * (`{kpc}`): pushes arrive on `kaa.v1.service.{kpc}.esp.ExtensionData`, and
 * the endpoints' own requests go to `kaa.v1.service.{cex}.esp.ClientData`
 * with a reply subject of this simulator, like the official Kaa clients
 * behind a real kpc. Each command id is executed once per endpoint and type;
 * repeats are counted as duplicates. Resolves once subscribed, announced
 * (9/ELCE) and, with pollOnStart, after every endpoint's first poll.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const replicaId = options.replicaId ?? `sim-${randomBytes(4).toString('hex')}`;
  const endpointIds = options.endpointIds
    ? [...options.endpointIds]
    : Array.from({ length: options.endpoints ?? 1 }, (_, i) => `${options.endpointPrefix ?? 'sim-ep-'}${i + 1}`);
  const appVersionName = options.appVersionName ?? 'sim-app-v1';
  const kpc = options.kpcInstanceName ?? 'kpc';
  const observe = options.observe === undefined ? true : options.observe;
  const announce = options.announceConnectivity ?? true;
  const nc = options.nc ?? (await connectOwn(options.natsUrl, replicaId));

  const stats: SimulatorStats = {
    endpoints: endpointIds.length,
    pushesReceived: 0,
    pollsSent: 0,
    pollAnswers: 0,
    commandsReceived: 0,
    commandsExecuted: 0,
    duplicatesReceived: 0,
    resultMessagesSent: 0,
    resultsAccepted: 0,
    resultsRefused: 0,
    resultsUndelivered: 0,
    resultsResent: 0,
    requestsTimedOut: 0,
    errorAnswers: {},
  };
  const endpoints = new Set(endpointIds);
  const replySubject = replicaSubject(replicaId, 'esp', MESSAGE_TYPES.extensionData);
  const requester = new Requester(
    nc,
    espClientDataSubject(options.cexInstanceName ?? 'cex'),
    replySubject,
    appVersionName,
    options.requestTimeoutMs ?? 5000,
  );
  const tracker = new WorkTracker();
  const sender = new ResultSender(
    requester,
    stats,
    tracker,
    options.batchWindowMs ?? 0,
    options.resultAttempts ?? 3,
    options.onResultAnswered,
  );
  const seen = new Set<string>();
  const executed = new Map<string, SimCommand[]>();
  const log: { command: SimCommand; result: SimResult; at: number }[] = [];
  // Every item as it arrived, repeats included: what CEX delivered, not what was executed.
  const deliveries: SimDelivery[] = [];

  const countError = (answer: ExtensionData) => {
    const code = String(answer.statusCode);
    stats.errorAnswers[code] = (stats.errorAnswers[code] ?? 0) + 1;
  };

  async function execute(command: SimCommand): Promise<void> {
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    let result: SimResult;
    if (options.failureRate && Math.random() < options.failureRate) {
      result = { statusCode: options.failureStatusCode ?? 500, reasonPhrase: 'simulated failure' };
    } else {
      try {
        result = await (options.handlers?.[command.commandType] ?? options.defaultHandler ?? echo)(command);
      } catch (err) {
        result = { statusCode: 500, reasonPhrase: err instanceof Error ? err.message : String(err) };
      }
    }
    stats.commandsExecuted++;
    const list = executed.get(command.endpointId) ?? [];
    list.push(command);
    executed.set(command.endpointId, list);
    log.push({ command, result, at: Date.now() });
    sender.add(command.endpointId, command.commandType, {
      id: command.commandId,
      statusCode: result.statusCode,
      ...(result.reasonPhrase === undefined ? {} : { reasonPhrase: result.reasonPhrase }),
      ...(result.payload === undefined ? {} : { payload: result.payload }),
    });
    options.onExecuted?.(command, result);
  }

  /** Takes the command items of a push or poll answer; executes each new one. */
  function receive(endpointId: string, commandType: string | null, payload: Buffer | null, via: SimCommand['via']): void {
    const items = parseItems(payload);
    for (const item of items) {
      const type = commandType ?? item.type;
      if (typeof type !== 'string') continue;
      stats.commandsReceived++;
      const key = `${endpointId}/${type}/${item.id}`;
      deliveries.push({
        endpointId,
        commandType: type,
        commandId: item.id,
        via,
        at: Date.now(),
        executedBefore: seen.has(key),
        resultAcceptedBefore: sender.accepted(endpointId, type, item.id),
      });
      if (seen.has(key)) {
        stats.duplicatesReceived++;
        // Executed already, but CEX never answered its result (it was down):
        // report it again, never run it again.
        sender.resend(endpointId, type, item.id);
        continue;
      }
      seen.add(key);
      void tracker.run(() => execute({ endpointId, commandType: type, commandId: item.id, payload: item.payload, via }));
    }
  }

  function onMessage(msg: Msg): void {
    let data: ExtensionData;
    try {
      data = decodeExtensionData(msg.data);
    } catch {
      return;
    }
    if (requester.settle(data)) return;
    // Pushes carry no requestId; anything else here answers someone else's request.
    if (data.requestId !== null || data.endpointId === null || !endpoints.has(data.endpointId)) return;
    stats.pushesReceived++;
    const type = /^\/command\/([^/]+)$/.exec(data.resourcePath)?.[1];
    if (type && data.statusCode === 200) receive(data.endpointId, type, data.payload, 'push');
  }

  async function poll(endpointId: string, commandType: string | null = null, flag: boolean | null = observe): Promise<ExtensionData> {
    stats.pollsSent++;
    const body = Buffer.from(JSON.stringify(flag === null ? {} : { observe: flag }), 'utf8');
    const answer = await requester.send(endpointId, commandType ? `/command/${commandType}` : '/command', body);
    stats.pollAnswers++;
    if (answer.statusCode === 200) receive(endpointId, commandType, answer.payload, 'poll');
    else countError(answer);
    return answer;
  }

  async function pollAll(): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < endpointIds.length) {
        const endpointId = endpointIds[next++]!;
        await poll(endpointId).catch((err) => {
          if (err instanceof RequestTimeoutError) stats.requestsTimedOut++;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(POLL_CONCURRENCY, endpointIds.length) }, worker));
  }

  const subscriptions: Subscription[] = [
    nc.subscribe(espExtensionDataSubject(kpc), { callback: (_err, msg) => onMessage(msg) }),
    nc.subscribe(replySubject, { callback: (_err, msg) => onMessage(msg) }),
  ];
  // The server must know the subscriptions before anything can answer them.
  await nc.flush();
  if (announce) await announceConnectivity(nc, kpc, replicaId, endpointIds, appVersionName, true);
  if (options.pollOnStart ?? true) await pollAll();

  let polling = false;
  const timer = options.pollIntervalMs
    ? setInterval(() => {
        if (polling) return;
        polling = true;
        void pollAll().finally(() => (polling = false));
      }, options.pollIntervalMs)
    : undefined;

  let stopping: Promise<void> | undefined;
  return {
    endpointIds,
    replySubject,
    stats: () => ({ ...stats, errorAnswers: { ...stats.errorAnswers } }),
    executedIds: (endpointId, commandType) =>
      (executed.get(endpointId) ?? []).filter((c) => commandType === undefined || c.commandType === commandType).map((c) => c.commandId),
    executions: () => log,
    deliveries: () => deliveries,
    poll,
    request: (endpointId, resourcePath, payload) =>
      requester.send(endpointId, resourcePath, Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload) ?? '', 'utf8')),
    idle: () => tracker.idle(),
    stop: () =>
      (stopping ??= (async () => {
        if (timer) clearInterval(timer);
        await tracker.idle();
        if (announce && !nc.isClosed())
          await announceConnectivity(nc, kpc, replicaId, endpointIds, appVersionName, false).catch(() => undefined);
        requester.cancelAll();
        for (const sub of subscriptions) sub.unsubscribe();
        if (!options.nc) await nc.drain().catch(() => undefined);
      })()),
  };
}

async function connectOwn(natsUrl: string | undefined, replicaId: string): Promise<NatsConnection> {
  if (!natsUrl) throw new Error('startSimulator needs natsUrl or nc');
  return connect({ servers: natsUrl.split(','), name: `cex-sim-${replicaId}`, maxReconnectAttempts: -1, waitOnFirstConnect: true });
}

/** 9/ELCE connected/disconnected for the endpoints, as the kpc publishes it. */
async function announceConnectivity(
  nc: NatsConnection,
  kpc: string,
  replicaId: string,
  endpointIds: readonly string[],
  appVersionName: string,
  connected: boolean,
): Promise<void> {
  const subject = eventSubject(kpc, 'endpoint', 'connectivity', connected ? 'connected' : 'disconnected');
  for (let i = 0; i < endpointIds.length; i += ENDPOINTS_PER_EVENT) {
    const event = {
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: 0,
      endpoints: Object.fromEntries(endpointIds.slice(i, i + ENDPOINTS_PER_EVENT).map((id) => [id, appVersionName])),
      originatorReplicaId: replicaId,
    };
    nc.publish(subject, connected ? encodeEndpointConnectedEvent(event) : encodeEndpointDisconnectedEvent(event));
  }
  await nc.flush();
}

/** The `[{id, payload, type?}]` items of a command list; anything malformed is skipped. */
function parseItems(payload: Buffer | null): { id: number; payload: unknown; type?: unknown }[] {
  if (!payload) return [];
  try {
    const json: unknown = JSON.parse(payload.toString('utf8'));
    if (!Array.isArray(json)) return [];
    return json.filter(
      (i): i is { id: number; payload: unknown; type?: unknown } =>
        !!i && typeof i === 'object' && Number.isInteger((i as { id?: unknown }).id),
    );
  } catch {
    return [];
  }
}
