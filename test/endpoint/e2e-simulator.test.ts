/**
 * The simulator's own behaviour (batching, failures, duplicates, periodic
 * polls, the CLI) against the dev host, and the bridge surviving garbage on
 * every subject it serves.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cipCommandRequestSubject, espClientDataSubject } from '../../shared/protocol/index.js';
import { testNatsUrl } from '../helpers/nats.js';
import { eventually, startE2e, type E2e } from './e2e-host.js';

const CLI = fileURLToPath(new URL('../../dist/shared/simulator/cli.js', import.meta.url));

let e2e: E2e;
beforeAll(async () => {
  e2e = await startE2e();
}, 90_000);
afterAll(async () => e2e?.close());

const invokeAsync = async (endpointId: string, payload: unknown, type = 'reboot'): Promise<number> =>
  ((await (await e2e.invoke(endpointId, type, payload, { awaitTimeout: 0 })).json()) as { commandId: number }).commandId;

describe('endpoint simulator', () => {
  it('batches the results of one poll into one message', async () => {
    const sim = await e2e.simulator({ observe: false, batchWindowMs: 50 });
    const [endpoint] = sim.endpointIds;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await invokeAsync(endpoint!, i));
    await sim.poll(endpoint!, 'reboot', null);
    await sim.idle();
    expect(sim.executedIds(endpoint!)).toEqual(ids);
    expect(sim.stats()).toMatchObject({ resultMessagesSent: 1, resultsAccepted: 5, resultsRefused: 0 });
  });

  it('reports simulated failures as the endpoint result (the command is still EXECUTED)', async () => {
    const sim = await e2e.simulator({ failureRate: 1, failureStatusCode: 503 });
    const res = await e2e.invoke(sim.endpointIds[0]!, 'reboot', 1, { awaitTimeout: 10 });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-command-status-code')).toBe('503');
    expect(await res.json()).toBeNull();
  });

  it('counts a command received again while it executes as a duplicate, and executes it once', async () => {
    const sim = await e2e.simulator({ delayMs: 500 });
    const [endpoint] = sim.endpointIds;
    const id = await invokeAsync(endpoint!, 'slow');
    await eventually(() => (sim.stats().pushesReceived > 0 ? true : undefined), 5000, 'push');
    await sim.poll(endpoint!, 'reboot');
    await sim.idle();
    expect(sim.executedIds(endpoint!)).toEqual([id]);
    expect(sim.stats().duplicatesReceived).toBeGreaterThanOrEqual(1);
  });

  it('polls periodically when asked, fetching commands that were never pushed', async () => {
    const sim = await e2e.simulator({ observe: false, pollIntervalMs: 200 });
    const [endpoint] = sim.endpointIds;
    const id = await invokeAsync(endpoint!, 'later');
    await eventually(() => (sim.executedIds(endpoint!).includes(id) ? true : undefined), 5000, 'periodic poll');
    expect(sim.executions()[0]!.command.via).toBe('poll');
    expect(sim.stats().pushesReceived).toBe(0);
  });

  it('runs as a CLI: cex-sim executes what is invoked while it runs and prints its counters', async () => {
    const args = [
      '--nats',
      testNatsUrl(),
      '--cex',
      e2e.cex,
      '--kpc',
      e2e.kpc,
      '--endpoints',
      '2',
      '--prefix',
      'cli-ep-',
      '--duration',
      '3000',
      '--report',
      '0',
      '--json',
    ];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await eventually(() => (out.includes('cex-sim:') ? true : undefined), 5000, 'CLI start');
    // The CLI announces its endpoints (9/ELCE) and polls: once CEX has it online, an invoke is pushed to it.
    await eventually(
      async () =>
        (await e2e.db.sql`SELECT 1 FROM endpoint_state WHERE endpoint_id = 'cli-ep-2' AND online`).length === 1 ? true : undefined,
      30_000,
      'the CLI endpoint online',
    );
    const res = await e2e.invoke('cli-ep-2', 'reboot', { from: 'test' }, { awaitTimeout: 5 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ from: 'test' });
    expect(await exited).toBe(0);
    const final = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(final).toMatchObject({ final: true, endpoints: 2, commandsExecuted: 1, resultsAccepted: 1, pollAnswers: 2 });
  });
});

describe('the bridge and functions under garbage', () => {
  it('stay up and keep working after garbage on every subject they serve', async () => {
    const subjects = [
      espClientDataSubject(e2e.cex),
      cipCommandRequestSubject(e2e.cex),
      `kaa.v1.events.${e2e.kpc}.endpoint.connectivity.connected`,
      `kaa.v1.events.${e2e.kpc}.endpoint.connectivity.disconnected`,
    ];
    for (const subject of subjects) {
      for (const bytes of [Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from('{"json":"not avro"}')]) {
        e2e.nc.publish(subject, bytes, { reply: 'kaa.v1.replica.garbage.esp.ExtensionData' });
      }
    }
    await e2e.nc.flush();
    const sim = await e2e.simulator();
    const res = await e2e.invoke(sim.endpointIds[0]!, 'reboot', 'still-alive', { awaitTimeout: 10 });
    expect(res.status).toBe(200);
    expect(await res.json()).toBe('still-alive');
    expect((await fetch(`${e2e.host.url}/readyz`)).status).toBe(200);
  });
});
