import type { NatsConnection } from '@nats-io/transport-node';
import type { ExtensionData } from '../protocol/index.js';

/** A command as a simulated endpoint received it. */
export interface SimCommand {
  endpointId: string;
  commandType: string;
  commandId: number;
  payload: unknown;
  /** How it arrived: a push from CEX, or the answer to the endpoint's own poll. */
  via: 'push' | 'poll';
}

/** What a simulated endpoint reports for a command (11/CEP result item). */
export interface SimResult {
  statusCode: number;
  reasonPhrase?: string;
  /** Left out of the result when undefined. */
  payload?: unknown;
}

/** Executes one command; may be async (a slow device). */
export type CommandHandler = (command: SimCommand) => SimResult | Promise<SimResult>;

/** Options of startSimulator; everything but the NATS server has a default. */
export interface SimulatorOptions {
  /** NATS server URL(s), comma-separated; or `nc`. */
  natsUrl?: string;
  /** An open connection to use (left open by stop()). */
  nc?: NatsConnection;
  /** How many endpoints to play (default 1), named `{prefix}{n}` from 1. */
  endpoints?: number;
  /** Endpoint id prefix (default `sim-ep-`). */
  endpointPrefix?: string;
  /** Explicit endpoint ids; overrides endpoints/endpointPrefix. */
  endpointIds?: readonly string[];
  /** The app version every ClientData names (default `sim-app-v1`). */
  appVersionName?: string;
  /** The communication service instance played (default `kpc`): pushes arrive on its ExtensionData subject. */
  kpcInstanceName?: string;
  /** The CEX instance addressed (default `cex`). */
  cexInstanceName?: string;
  /** Replica id of this simulator, the token of its reply subject (default random). */
  replicaId?: string;
  /** Time a command takes to execute, ms (default 0). */
  delayMs?: number;
  /** Fraction of commands, 0..1, answered with failureStatusCode (default 0). */
  failureRate?: number;
  /** Status code of a simulated failure (default 500). */
  failureStatusCode?: number;
  /** The observe flag sent with polls: true (default), false, or null to leave it out. */
  observe?: boolean | null;
  /** Poll `/command` (all types) for every endpoint at start (default true). */
  pollOnStart?: boolean;
  /** Poll again every so many ms (default 0: never). */
  pollIntervalMs?: number;
  /** Publish 9/ELCE connected for the endpoints at start and disconnected at stop (default true). */
  announceConnectivity?: boolean;
  /** Handlers by command type; others use defaultHandler. */
  handlers?: Readonly<Record<string, CommandHandler>>;
  /** Default: echo, 200 "OK" with the command's payload as the result payload. */
  defaultHandler?: CommandHandler;
  /** How long results of one (endpoint, type) are collected into one message, ms (default 0: same tick). */
  batchWindowMs?: number;
  /** How long to wait for CEX's answer to a ClientData, ms (default 5000); also its 3/ISM timeout. */
  requestTimeoutMs?: number;
  /** Attempts to deliver a result message before giving up (default 3). */
  resultAttempts?: number;
  /** Called after each command was executed and its result queued. */
  onExecuted?: (command: SimCommand, result: SimResult) => void;
  /** Called when CEX answered a result message (times from performance.now(); the bench splits a round trip with it). */
  onResultAnswered?: (endpointId: string, commandType: string, ids: number[], sentAt: number, answeredAt: number) => void;
}

/** Counters of one simulator run. */
export interface SimulatorStats {
  endpoints: number;
  pushesReceived: number;
  pollsSent: number;
  pollAnswers: number;
  /** Command items seen in pushes and poll answers, duplicates included. */
  commandsReceived: number;
  /** Distinct commands executed (each id at most once per endpoint and type). */
  commandsExecuted: number;
  /** Items for a command already executed or executing. */
  duplicatesReceived: number;
  /** Result messages sent (each may carry several results). */
  resultMessagesSent: number;
  resultsAccepted: number;
  resultsRefused: number;
  /** Results given up on: no answer after every attempt. */
  resultsUndelivered: number;
  /** Results of undelivered messages sent again when CEX re-pushed their command. */
  resultsResent: number;
  /** ClientData that got no answer in time. */
  requestsTimedOut: number;
  /** Answers with a status other than 200, by status code. */
  errorAnswers: Record<string, number>;
}

/** One command item as it reached an endpoint, before any de-duplication. */
export interface SimDelivery {
  endpointId: string;
  commandType: string;
  commandId: number;
  via: 'push' | 'poll';
  at: number;
  /** The endpoint had already executed this command (a re-delivery). */
  executedBefore: boolean;
  /** CEX had already accepted this command's result (answered 200 to it). */
  resultAcceptedBefore: boolean;
}

/** A running simulator. */
export interface Simulator {
  readonly endpointIds: readonly string[];
  /** The subject CEX answers this simulator's ClientData on. */
  readonly replySubject: string;
  stats(): SimulatorStats;
  /** Ids this endpoint executed (of one type, or of all), in execution order. */
  executedIds(endpointId: string, commandType?: string): number[];
  /** Every execution so far, in order, with the result reported. */
  executions(): readonly { command: SimCommand; result: SimResult; at: number }[];
  /** Every command item received (pushes and poll answers), repeats included, in order. */
  deliveries(): readonly SimDelivery[];
  /** Polls `/command[/{type}]` for one endpoint and executes what comes back; resolves with the answer. */
  poll(endpointId: string, commandType?: string | null, observe?: boolean | null): Promise<ExtensionData>;
  /** Sends one raw ClientData (any path and payload) and resolves with CEX's answer. */
  request(endpointId: string, resourcePath: string, payload: unknown): Promise<ExtensionData>;
  /** Resolves when no execution or result message is in flight. */
  idle(): Promise<void>;
  /** Stops polling, waits for in-flight work, says disconnected, unsubscribes (closes its own connection). */
  stop(): Promise<void>;
}
