/**
 * The operator console in a real Chromium (Debian's, driven by
 * playwright-core) against the built dev host, with simulated endpoints
 * answering: invoke through the form and watch the result arrive live, a
 * REST invoke appearing without a reload, the stream resumed after a real
 * connection drop, delete with confirmation, paging an application's
 * history, and a batch task's progress. Every page is checked with axe-core
 * and makes requests to its own origin only. Screenshots: test-results/console/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimResult } from '../../shared/simulator/index.js';
import { uniquePrefix } from '../helpers/nats.js';
import { axeViolations, launchBrowser, openPage, requestOrigins, screenshot, type Watched } from './browser.js';
import { eventually, startStage, type Stage } from './harness.js';
import { startCutProxy, type CutProxy } from './proxy.js';

let e2e: Stage;
let browser: Browser;
let proxy: CutProxy;
const opened: Watched[] = [];

beforeAll(async () => {
  [e2e, browser] = await Promise.all([startStage({ CEX_EFMP_TIMEOUT_MS: '1000' }), launchBrowser()]);
  proxy = await startCutProxy({ host: '127.0.0.1', port: e2e.host.port });
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await e2e?.close();
});

/** A promise the test resolves: a simulated endpoint answers only once the test has seen PENDING. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

async function page(): Promise<Watched> {
  const w = await openPage(browser);
  opened.push(w);
  return w;
}

/** The row of one command on an endpoint page (`reboot/1`). */
const row = (p: Page, name: string) => p.locator(`tr[data-command$="/${name}"]`);
const liveIs = (p: Page, state: string) => p.locator(`p.live[data-state="${state}"]`).waitFor();

/** Ends each test the same way: no script error, nothing but its own origin contacted, no serious axe violation. */
async function finish(w: Watched, origin: string, shot: string): Promise<void> {
  await screenshot(w.page, shot);
  expect(w.errors).toEqual([]);
  expect(requestOrigins(w)).toEqual([origin]);
  expect(await axeViolations(w.page)).toEqual([]);
  await w.page.context().close();
}

describe('operator console', () => {
  it('invokes through the form (refusing a payload that is not JSON) and shows the command turn EXECUTED live', async () => {
    const endpoint = uniquePrefix('ep');
    const release = gate();
    await e2e.simulator({
      endpointIds: [endpoint],
      handlers: {
        reboot: async (c): Promise<SimResult> => (
          await release.opened,
          { statusCode: 200, reasonPhrase: 'rebooted', payload: { up: true, asked: c.payload } }
        ),
      },
    });
    const w = await page();
    const p = w.page;
    await p.goto(`${e2e.host.url}/console/endpoints/${endpoint}`);
    await p.getByRole('heading', { level: 1, name: `Endpoint ${endpoint}` }).waitFor();
    await liveIs(p, 'live');

    await p.getByLabel('Command type').fill('reboot');
    await p.getByLabel('Payload').fill('{"delay": }');
    await p.getByRole('button', { name: 'Invoke' }).click();
    await p.getByRole('alert').filter({ hasText: 'Payload is not valid JSON' }).waitFor();
    expect(await p.getByLabel('Payload').getAttribute('aria-invalid')).toBe('true');
    expect(w.requests.filter((r) => r.method() === 'POST')).toEqual([]);

    // By keyboard: fix the payload, set the fields, submit with Enter.
    await p.getByLabel('Payload').fill('{"delay": 5}');
    await p.getByLabel('Wait (seconds)').fill('0');
    await p.getByLabel('TTL').fill('60000');
    await p.getByLabel('Command type').focus();
    await p.keyboard.press('Enter');
    await row(p, 'reboot/1').locator('.badge-pending').waitFor();
    await p.getByRole('status').filter({ hasText: 'reboot/1 accepted: PENDING' }).waitFor();
    const posted = w.requests.filter((r) => r.method() === 'POST');
    expect(posted.map((r) => new URL(r.url()).pathname + new URL(r.url()).search)).toEqual([
      `/api/v1/endpoints/${endpoint}/commands/reboot?awaitTimeout=0&commandTtl=60000`,
    ]);
    expect(posted[0]!.postData()).toBe('{"delay": 5}');

    // The endpoint answers once its push is counted: a push is counted after
    // its publish was flushed, and an endpoint quicker than that would turn
    // the row EXECUTED while it still reads "not pushed".
    await eventually(
      async () => ((await e2e.command(endpoint, 'reboot', 1)).delivery as { pushes: number }).pushes === 1 || undefined,
      15_000,
      'the push counted',
    );
    release.open();
    await row(p, 'reboot/1').locator('.badge-executed').waitFor();
    expect(await row(p, 'reboot/1').innerText()).toMatch(/EXECUTED\s+200 rebooted\s+pushed 1×, not fetched/);
    expect(await e2e.command(endpoint, 'reboot', 1)).toMatchObject({ status: 'EXECUTED', statusCode: 200, reasonPhrase: 'rebooted' });

    // Open the row by keyboard: its request and response payloads.
    await p.getByRole('button', { name: 'Details of reboot/1' }).focus();
    await p.keyboard.press('Enter');
    expect(await p.getByRole('button', { name: 'Details of reboot/1' }).getAttribute('aria-expanded')).toBe('true');
    const detail = p.locator('tr.detail:not([hidden])');
    await detail.waitFor();
    expect(JSON.parse(await detail.locator('pre').nth(0).innerText())).toEqual({ delay: 5 });
    expect(JSON.parse(await detail.locator('pre').nth(1).innerText())).toEqual({ up: true, asked: { delay: 5 } });
    await finish(w, e2e.host.url, 'endpoint-invoke');
  });

  it('shows a command invoked over REST without a reload, and resumes its stream after a dropped connection (Last-Event-ID), missing nothing', async () => {
    const sim = await e2e.simulator();
    const [endpoint] = sim.endpointIds;
    const w = await page();
    const p = w.page;
    let loads = 0;
    p.on('load', () => loads++);
    await p.goto(`${proxy.url}/console/endpoints/${endpoint}`);
    await liveIs(p, 'live');

    expect((await e2e.invoke(endpoint!, 'blink', { n: 1 }, { awaitTimeout: 0 })).status).toBe(202);
    await row(p, 'blink/1').waitFor();
    await row(p, 'blink/1').locator('.badge-executed').waitFor();

    // Every connection of the page cut, and new ones refused, while a command is invoked and executed.
    proxy.cut();
    await liveIs(p, 'reconnecting');
    expect((await e2e.invoke(endpoint!, 'blink', { n: 2 }, { awaitTimeout: 10 })).status).toBe(200);
    expect(await row(p, 'blink/2').count()).toBe(0);
    proxy.restore();
    await row(p, 'blink/2').locator('.badge-executed').waitFor({ timeout: 20_000 });
    await liveIs(p, 'live');

    expect(loads).toBe(1);
    const streams = proxy.heads.filter((h) => h.startsWith(`GET /api/v1/endpoints/${endpoint}/commands/events `));
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams[0]).not.toMatch(/^last-event-id:/im);
    expect(streams.at(-1)).toMatch(/^last-event-id: e1\.[A-Za-z0-9_-]+$/im);
    // The list was read once: blink/2 came from the resumed stream, not from a reload of the list.
    expect(proxy.heads.filter((h) => h.startsWith(`GET /api/v1/endpoints/commands?endpointId=${endpoint}`))).toHaveLength(1);
    await finish(w, proxy.url, 'endpoint-live-resume');
  }, 60_000);

  it('deletes a command after confirmation, and keeps it when the confirmation is cancelled', async () => {
    const sim = await e2e.simulator({ observe: false, pollOnStart: false });
    const [endpoint] = sim.endpointIds;
    await e2e.invoke(endpoint!, 'reset', null, { awaitTimeout: 0 });
    await e2e.invoke(endpoint!, 'reset', null, { awaitTimeout: 0 });
    const w = await page();
    const p = w.page;
    await p.goto(`${e2e.host.url}/console/endpoints/${endpoint}`);
    await row(p, 'reset/2').waitFor();
    expect(await p.locator('tr[data-command]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-command')))).toEqual([
      `${endpoint}/reset/2`,
      `${endpoint}/reset/1`,
    ]);

    await p.getByRole('button', { name: 'Delete reset/1' }).click();
    const dialog = p.getByRole('dialog', { name: 'Delete command' });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain(`Delete reset/1 of ${endpoint}?`);
    await p.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await row(p, 'reset/1').count()).toBe(1);

    await p.getByRole('button', { name: 'Delete reset/1' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row(p, 'reset/1').waitFor({ state: 'detached' });
    await p.getByRole('status').filter({ hasText: 'Deleted reset/1.' }).waitFor();
    expect((await fetch(`${e2e.host.url}/api/v1/endpoints/${endpoint}/commands/reset/1`)).status).toBe(404);
    expect(await row(p, 'reset/2').count()).toBe(1);
    await finish(w, e2e.host.url, 'endpoint-delete');
  });

  it("pages through an application's history (keyset cursor), with totals, sort and filters", async () => {
    const sim = await e2e.simulator({ endpoints: 3, appVersionName: 'fleet-a-v1' });
    const created: string[] = [];
    for (let i = 0; i < 45; i++) {
      const endpoint = sim.endpointIds[i % 3]!;
      const res = await e2e.invoke(endpoint, 'report', { i }, { awaitTimeout: 0 });
      created.push(`${endpoint}/report/${((await res.json()) as { commandId: number }).commandId}`);
    }
    await eventually(
      async () => {
        const res = await fetch(`${e2e.host.url}/api/v1/endpoints/commands/fleet-a?size=1`);
        return ((await res.json()) as { totalElements: number }).totalElements === 45 ? true : undefined;
      },
      20_000,
      '45 commands listed for fleet-a',
    );

    const w = await page();
    const p = w.page;
    // From the start page, as an operator would get there.
    await p.goto(`${e2e.host.url}/console/`);
    await p.getByLabel('Application name').fill('fleet-a');
    await p.getByRole('button', { name: 'Open application' }).click();
    await p.getByRole('heading', { level: 1, name: 'Application fleet-a' }).waitFor();
    expect(new URL(p.url()).pathname).toBe('/console/applications/fleet-a');

    const summary = p.locator('p.summary');
    const keys = () => p.locator('tr[data-command]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-command')!));
    const pages: string[][] = [];
    for (const n of [1, 2, 3]) {
      await summary.filter({ hasText: `45 commands · page ${n} of 3` }).waitFor();
      pages.push(await keys());
      if (n < 3) await p.getByRole('button', { name: 'Next page' }).click();
    }
    expect(pages.map((x) => x.length)).toEqual([20, 20, 5]);
    // Newest first, each command once across the pages.
    expect(pages.flat()).toEqual([...created].reverse());
    expect(await p.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await p.getByRole('button', { name: 'Previous page' }).click();
    await summary.filter({ hasText: 'page 2 of 3' }).waitFor();
    expect(await keys()).toEqual(pages[1]);
    const cursors = w.requests
      .map((r) => new URL(r.url()))
      .filter((u) => u.pathname === '/api/v1/endpoints/commands/fleet-a')
      .map((u) => u.searchParams.get('cursor'));
    expect(cursors.slice(0, 3).map((c) => c !== null)).toEqual([false, true, true]);

    await p.getByLabel('Sort', { exact: true }).selectOption({ label: 'Oldest first' });
    await p.getByLabel('Page size').selectOption('50');
    await p.getByRole('button', { name: 'Apply' }).click();
    await summary.filter({ hasText: '45 commands · page 1 of 1' }).waitFor();
    expect(await keys()).toEqual(created);
    await p.getByLabel('Status').selectOption('EXPIRED');
    await p.getByRole('button', { name: 'Apply' }).click();
    await summary.filter({ hasText: '0 commands' }).waitFor();
    await p.getByLabel('Status').selectOption('');
    await p.getByLabel('Command types').fill('nothing-of-this-type');
    await p.getByRole('button', { name: 'Apply' }).click();
    await summary.filter({ hasText: '0 commands' }).waitFor();
    await p.getByLabel('Command types').fill('report');
    await p.getByRole('button', { name: 'Apply' }).click();
    await summary.filter({ hasText: '45 commands · page 1 of 1' }).waitFor();
    await finish(w, e2e.host.url, 'application-history');
  }, 60_000);

  it("starts a batch from a pasted and an uploaded endpoint list, then follows its task's progress live; a filter the registry does not answer shows its problem", async () => {
    const release = gate();
    const sim = await e2e.simulator({
      endpoints: 2,
      handlers: { firmware: async (): Promise<SimResult> => (await release.opened, { statusCode: 200, reasonPhrase: 'updated' }) },
    });
    const [a, b] = sim.endpointIds;
    const nobody = uniquePrefix('offline');
    const w = await page();
    const p = w.page;
    await p.goto(`${e2e.host.url}/console/`);
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Batch' }).click();
    await p.getByRole('heading', { level: 1, name: 'Batch' }).waitFor();

    await p.getByLabel('Command type').fill('firmware');
    await p.getByLabel('Payload').fill('{"v": "1.2"}');
    // Expires while the test waits: one endpoint never answers.
    await p.getByLabel('TTL').fill('4000');
    await p.getByLabel('By filter').check();
    await p.getByLabel('Filter id').fill('fleet-1');
    await p.getByRole('button', { name: 'Start batch' }).click();
    // No registry answers 20/EFMP here: CEX's 504 problem is shown beside the button.
    await p.getByRole('alert').filter({ hasText: '(504 EFMP_TIMEOUT)' }).waitFor({ timeout: 15_000 });

    await p.getByLabel('By endpoint list').check();
    await p.getByLabel('Endpoint ids', { exact: true }).fill(`${a}\n${b}`);
    await p
      .getByLabel('Upload a file of endpoint ids')
      .setInputFiles({ name: 'ids.txt', mimeType: 'text/plain', buffer: Buffer.from(`${nobody}\n${a}\n`) });
    await p.getByRole('status').filter({ hasText: 'Read 2 ids from ids.txt; 3 in the list.' }).waitFor();
    await p.getByRole('button', { name: 'Start batch' }).click();
    await p.waitForURL(/\/console\/tasks\/[0-9a-f-]{36}$/);
    const taskId = new URL(p.url()).pathname.split('/').at(-1)!;
    await p.getByRole('heading', { level: 1, name: `Task ${taskId}` }).waitFor();

    const progress = p.locator('.progress-text');
    await progress.filter({ hasText: '0 of 3 done' }).waitFor();
    expect(await p.locator('[data-count="pending"]').innerText()).toBe('3');
    release.open();
    await progress.filter({ hasText: '2 of 3 done' }).waitFor({ timeout: 15_000 });
    expect(await p.locator('[data-count="executed"]').innerText()).toBe('2');
    await progress.filter({ hasText: '3 of 3 done' }).waitFor({ timeout: 30_000 });
    expect(await p.locator('[data-count="expired"]').innerText()).toBe('1');
    await p.getByText('Finished: no command is pending.').waitFor();
    expect(
      await p.getByLabel('Progress').evaluate((el) => [(el as unknown as { value: number }).value, (el as unknown as { max: number }).max]),
    ).toEqual([3, 3]);
    const task = (await (await fetch(`${e2e.host.url}/api/v1/endpoints/commands/batch/tasks/${taskId}`)).json()) as Record<string, unknown>;
    expect(task).toMatchObject({
      commandType: 'firmware',
      executedCount: 2,
      expiredCount: 1,
      pendingCount: 0,
      expired: [{ endpointId: nobody }],
    });
    await p.getByText('Expired (1)').click();
    await p.getByRole('link', { name: nobody }).waitFor();
    await finish(w, e2e.host.url, 'batch-task');
  }, 60_000);
});
