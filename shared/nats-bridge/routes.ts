import type { Config } from '../config/index.js';
import {
  cipCommandRequestSubject,
  elceConnectedSubscription,
  elceDisconnectedSubscription,
  espClientDataReplicaSubject,
  espClientDataSubject,
  lastToken,
  scmpBroadcastSubscription,
  scmpTargetedSubscription,
  tleSubscription,
} from '../protocol/index.js';
import { EVENT_TYPES, type EventType } from '../bridge/contract.js';

/** Label of a subscription in metrics and logs. */
export type SubjectKind = 'esp' | 'esp-replica' | 'cip' | 'elce' | 'scmp' | 'tle';

/** One NATS subscription of the bridge and how its messages map to CloudEvent types. */
export interface BridgeRoute {
  kind: SubjectKind;
  subject: string;
  /** Queue group (the CEX instance name), or none for replica subjects. */
  queue: string | undefined;
  /** The event type of a message received on `subject`; undefined for an event type CEX does not know. */
  classify(subject: string): EventType | undefined;
}

const fixed = (type: EventType) => () => type;

// Wildcard subscriptions: the last token names the event type.
function byLastToken(types: Record<string, EventType>): (subject: string) => EventType | undefined {
  return (subject) => {
    try {
      return Object.hasOwn(types, lastToken(subject)) ? types[lastToken(subject)] : undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * Every subscription of the bridge (docs/nats-protocols.md). All but
 * the replica subject are in the queue group `{cex}`, so a message reaches one
 * bridge replica only. 21/TLE and 17/SCMP broadcasts are events every
 * instance must act on, yet they are forwarded once here too: the function
 * that receives them (scmp-config-reload) spreads the change to every
 * instance through Postgres (CHANNELS.config).
 */
export function bridgeRoutes(config: Config): BridgeRoute[] {
  const group = config.instanceName;
  const scmp = byLastToken({ upsert: EVENT_TYPES.scmpBroadcast, delete: EVENT_TYPES.scmpBroadcast });
  const scmpTargeted = byLastToken({ upsert: EVENT_TYPES.scmpTargeted, delete: EVENT_TYPES.scmpTargeted });
  return [
    { kind: 'esp', subject: espClientDataSubject(group), queue: group, classify: fixed(EVENT_TYPES.espClientData) },
    {
      kind: 'esp-replica',
      subject: espClientDataReplicaSubject(config.replicaId),
      queue: undefined,
      classify: fixed(EVENT_TYPES.espClientData),
    },
    { kind: 'cip', subject: cipCommandRequestSubject(group), queue: group, classify: fixed(EVENT_TYPES.cipCommandRequest) },
    { kind: 'elce', subject: elceConnectedSubscription(), queue: group, classify: fixed(EVENT_TYPES.elceConnected) },
    { kind: 'elce', subject: elceDisconnectedSubscription(), queue: group, classify: fixed(EVENT_TYPES.elceDisconnected) },
    { kind: 'scmp', subject: scmpBroadcastSubscription(config.tekton.scmpProvider), queue: group, classify: scmp },
    { kind: 'scmp', subject: scmpTargetedSubscription(group), queue: group, classify: scmpTargeted },
    {
      kind: 'tle',
      subject: tleSubscription(),
      queue: group,
      classify: byLastToken({ updated: EVENT_TYPES.tleUpdated, unregistered: EVENT_TYPES.tleUnregistered }),
    },
  ];
}
