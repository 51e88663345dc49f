import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { REPO_ROOT } from '../deploy/kustomize.js';

/** Debian's chromium (the Makefile installs it); playwright-core brings no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags that work in these containers: no sandbox (root), no GPU, nothing phoned home. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots of each test, for review (git-ignored). */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'console');

/** One browser per test file; each launch gets a fresh profile (a new --user-data-dir). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: \`make test\` installs Debian's chromium package (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** What a page did that a test checks at its end: every request, script errors, console errors. */
export interface Watched {
  page: Page;
  requests: Request[];
  errors: string[];
}

/** A fresh context and page whose requests and errors are recorded. */
export async function openPage(browser: Browser): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const watched: Watched = { page, requests: [], errors: [] };
  page.on('request', (r) => watched.requests.push(r));
  page.on('pageerror', (e) => watched.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A failed request logs "Failed to load resource" (a 4xx the test provoked, a stream cut): the test checks those itself.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) watched.errors.push(`console: ${m.text()}`);
  });
  return watched;
}

/** Origins of every request the page made. */
export function requestOrigins(w: Watched): string[] {
  return [...new Set(w.requests.map((r) => new URL(r.url()).origin))].filter((o) => o !== 'null');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * axe-core (from npm) run inside the page: the serious and critical
 * violations of WCAG 2.x A/AA rules. The source is evaluated over the
 * DevTools protocol, which the page's CSP does not apply to, so the page
 * keeps its real policy.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })`,
  )) as {
    violations: AxeViolation[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
}
