import { connect as tcpConnect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, expect, it } from 'vitest';
import { processAlive, startNatsServer, type NatsServer } from '../../shared/devstack/index.js';
import { createLogger } from '../../shared/log/index.js';

const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'test');
const servers: NatsServer[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

it('starts, restarts on the same port, and stops', async () => {
  const server = await startNatsServer({ log });
  servers.push(server);
  expect(server.port).not.toBe(4222);
  const nc = await connect({ servers: server.url, name: 'devstack-test', maxReconnectAttempts: -1, reconnectTimeWait: 50 });
  try {
    expect(nc.info?.jetstream ?? false).toBe(false);
    const sub = nc.subscribe('devstack.echo', { callback: (_err, msg) => void msg.respond(msg.data) });
    expect((await nc.request('devstack.echo', 'ping', { timeout: 2_000 })).string()).toBe('ping');

    const before = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(before);
    expect(processAlive(before)).toBe(false);
    // The client reconnects by itself and resubscribes.
    await expect
      .poll(async () => (await nc.request('devstack.echo', 'again', { timeout: 500 }).catch(() => null))?.string(), {
        timeout: 10_000,
        interval: 100,
      })
      .toBe('again');
    sub.unsubscribe();
  } finally {
    await nc.close();
  }

  const pid = server.pid;
  await server.stop();
  expect(processAlive(pid)).toBe(false);
  expect(await accepts(server.port)).toBe(false);
});

it('fails on a taken port instead of trusting whoever answers there', async () => {
  const first = await startNatsServer({ log });
  servers.push(first);
  await expect(startNatsServer({ log, port: first.port })).rejects.toThrow(/address already in use/);
});

it('enables JetStream only when given a store dir', async () => {
  const storeDir = await mkdtemp(path.join(tmpdir(), 'cex-js-'));
  dirs.push(storeDir);
  const server = await startNatsServer({ log, storeDir });
  servers.push(server);
  const nc = await connect({ servers: server.url });
  try {
    expect(nc.info?.jetstream).toBe(true);
  } finally {
    await nc.close();
  }
  await server.stop();
});
