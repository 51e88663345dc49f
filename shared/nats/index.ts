import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log/index.js';

export type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';

export interface NatsOptions {
  servers: string;
  /** Connection name shown by the server (`cex-bridge-<replica>`). */
  name: string;
  log: Logger;
  /** Files to authenticate with and to trust (shared/config `natsAuth`). */
  auth?: { credsFile?: string; nkeySeedFile?: string; tlsCaFile?: string };
}

/**
 * Connects once, named, reconnecting forever: the first connect
 * also retries until the server answers, so a bridge started before NATS
 * simply waits. Status events are logged as they happen.
 */
export async function connectNats(options: NatsOptions): Promise<NatsHandle> {
  const nc = await connect({
    servers: options.servers.split(','),
    name: options.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
    ...authOptions(options.auth),
  });
  const handle: NatsHandle = { nc, up: true, connected: () => handle.up && !nc.isClosed() };
  void followStatus(handle, options.log);
  options.log.info({ server: nc.getServer() }, 'NATS connected');
  return handle;
}

/**
 * The authenticator and TLS options for the mounted files. The files are
 * read at each (re)connect, not once, so a Secret rotated in place is used by
 * the next reconnect without a restart.
 */
function authOptions(auth: NatsOptions['auth'] = {}) {
  const authenticator = auth.credsFile
    ? credsAuthenticator(() => readFileSync(auth.credsFile!))
    : auth.nkeySeedFile
      ? nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(auth.nkeySeedFile!, 'utf8').trim()))
      : undefined;
  return {
    ...(authenticator ? { authenticator } : {}),
    ...(auth.tlsCaFile ? { tls: { caFile: auth.tlsCaFile } } : {}),
  };
}

/** A connection and whether it is up right now (for readiness and the outbox drainer). */
export interface NatsHandle {
  nc: NatsConnection;
  up: boolean;
  connected(): boolean;
}

async function followStatus(handle: NatsHandle, log: Logger): Promise<void> {
  for await (const s of handle.nc.status()) {
    if (s.type === 'disconnect') handle.up = false;
    if (s.type === 'reconnect') handle.up = true;
    switch (s.type) {
      case 'disconnect':
      case 'reconnecting':
      case 'staleConnection':
      case 'slowConsumer':
        log.warn({ nats: s }, `NATS ${s.type}`);
        break;
      case 'error':
        log.error({ nats: s }, 'NATS error');
        break;
      case 'ping':
        break;
      default:
        log.info({ nats: s }, `NATS ${s.type}`);
    }
  }
}
