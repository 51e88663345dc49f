import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeEmbeddedPostgresData } from '../../shared/devstack/index.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';

/**
 * `make demo` as a newcomer runs it: nothing configured (embedded Postgres, a
 * local nats-server), the simulated fleet demo-1 … demo-10 in the same
 * process group, the banner on stderr, the curl the banner suggests answered
 * by demo-1, and SIGTERM to the group leaving no process behind.
 */

const dataDir = path.join(process.cwd(), '.data', `demo-${randomBytes(4).toString('hex')}`);
let host: DevHost | undefined;

afterAll(async () => {
  await host?.stop('SIGKILL');
  await removeEmbeddedPostgresData(path.join(dataDir, 'pg'));
  await rm(dataDir, { recursive: true, force: true });
});

/** Pids whose process group is `pgid` (Linux /proc; field 5 of stat). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return members;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('make demo', () => {
  it('serves a fleet that answers a sync invoke at once, prints the banner, and stops everything on SIGTERM', async () => {
    host = await startDevHost({ CEX_DATA_DIR: dataDir }, 90_000, ['--demo']);
    const started = host;
    await waitFor(() => started.stderr().includes('Ctrl-C stops everything.'), 'the banner');

    const banner = started.stderr();
    const natsLine = started
      .output()
      .split('\n')
      .find((line) => line.includes('local nats-server started'));
    const natsUrl = (JSON.parse(natsLine ?? '{}') as { url?: string }).url;
    expect(natsUrl).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(banner).toContain(`http://localhost:${started.port}/api/v1`);
    expect(banner).toContain(`http://localhost:${started.port}/openapi.json`);
    expect(banner).toContain(`http://localhost:${started.port}/metrics`);
    expect(banner).toContain(`http://localhost:${started.port}/readyz`);
    expect(banner).toContain(`NATS       ${natsUrl}`);
    expect(banner).toContain('demo-1 … demo-10');
    const curl = `curl -X POST 'localhost:${started.port}/api/v1/endpoints/demo-1/commands/reboot?awaitTimeout=10'`;
    expect(banner).toContain(curl);
    // One banner, on stderr only (stdout carries the JSON log lines).
    expect(started.output().split('CEX is ready').length).toBe(2);
    expect(banner.split('CEX is ready').length).toBe(2);

    // What the banner's curl sends.
    const res = await fetch(`${started.url}/api/v1/endpoints/demo-1/commands/reboot?awaitTimeout=10`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-command-status-code')).toBe('200');
    expect(await res.json()).toMatchObject({ endpointId: 'demo-1', command: 'reboot', received: {} });
    const location = res.headers.get('location')!;
    const descriptor = (await (await fetch(`${started.url}${location}`)).json()) as Record<string, unknown>;
    expect(descriptor).toMatchObject({ endpointId: 'demo-1', status: 'EXECUTED', statusCode: 200, appVersionName: 'demo-app-v1' });
    // Every endpoint of the fleet is there: demo-10 answers too.
    const last = await fetch(`${started.url}/api/v1/endpoints/demo-10/commands/ping?awaitTimeout=10`, { method: 'POST' });
    expect(last.status).toBe(200);

    const pgid = started.proc.pid!;
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(3); // node, postgres, nats-server at least
    expect(await started.stop('SIGTERM')).toBe(0);
    await waitFor(() => groupMembers(pgid).length === 0, 'every process of the group gone', 15_000);
    expect(started.output()).toContain('demo endpoint executed a command');
  }, 180_000);
});
