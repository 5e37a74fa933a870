// The built-in web dashboard (issue 18) in Firefox: Debian's firefox-esr driven by
// puppeteer-core over WebDriver BiDi (playwright-core only drives its own patched Firefox
// builds), against a server with one real agent on Docker and the real kubectl. The paths
// that differ between browsers: a wrong token shows an error and no data; `#token=` logs in
// and leaves the URL; a pod created by kubectl appears without a reload; its log line shows;
// the exec terminal (the bearer token as a WebSocket subprotocol) runs a command; at a
// phone's width nothing is wider than the screen. Screenshots go to test-artifacts/dashboard/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  ROOT,
  dockerAvailable,
  eventually,
  k,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');

describe('web dashboard in Firefox', () => {
  let s: ServerProc;
  let a: AgentProc;
  let browser: Browser;
  let page: Page;

  const text = (sel: string) => page.$eval(sel, (e) => e.textContent ?? '').catch(() => '');
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `firefox-${name}.png`), fullPage: true });
  const dash = () => `${s.url}/dashboard/`;

  beforeAll(async () => {
    // missing tools are failures, not skips
    expect(dockerAvailable(), 'docker').toBe(true);
    expect(kubectlAvailable(), 'kubectl').toBe(true);
    expect(existsSync(FIREFOX), `firefox at ${FIREFOX} (apt-get install firefox-esr)`).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    s = await startServer();
    a = startAgent(s);
    // puppeteer gives Firefox a fresh temporary profile; nothing reaches out (offline machine)
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      acceptInsecureCerts: true,
      timeout: 60_000,
      extraPrefsFirefox: {
        'network.captive-portal-service.enabled': false,
        'network.connectivity-service.enabled': false,
        'app.update.enabled': false,
      },
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 860 });
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 200);
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('a wrong token shows an error and no data', async () => {
    await page.goto(dash());
    await page.waitForSelector('#token');
    await page.type('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await expect.poll(() => text('[data-testid=login-error]'), { timeout: 15_000 }).toContain('401');
    expect(await page.$('[data-testid=overview]')).toBeNull();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  }, 60_000);

  it('logs in with #token=, which leaves the URL; the node is Ready; a pod created by kubectl appears and its log shows', async () => {
    await page.goto('about:blank');
    await page.goto(`${dash()}#token=${s.token}`);
    await page.waitForSelector(`[data-testid="node-${a.node}"]`, { timeout: 20_000 });
    expect(page.url()).not.toContain(s.token);
    expect(await page.evaluate(() => sessionStorage.getItem('skiff.dashboard.token'))).toBe(s.token);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await expect.poll(() => text(`[data-testid="node-${a.node}"]`), { timeout: 20_000 }).toContain('Ready');
    await shot('overview');

    await page.click('[data-nav=workloads]');
    await page.waitForSelector('[data-testid=workloads]');
    k(s, [
      'run',
      'ffhello',
      `--image=${BUSYBOX}`,
      '--restart=Never',
      '--',
      'sh',
      '-c',
      'echo hello-from-firefox; sleep 3600',
    ]);
    await page.waitForSelector('tr[data-pod=ffhello]', { timeout: 20_000 });
    await expect.poll(() => text('tr[data-pod=ffhello]'), { timeout: 60_000 }).toContain('Running');
    await page.click('tr[data-pod=ffhello] a');
    await page.waitForSelector('[data-testid=pod-detail]');
    expect(page.url()).toContain('#/pod/default/ffhello');
    await expect.poll(() => text('[data-testid=log]'), { timeout: 30_000 }).toContain('hello-from-firefox');
  }, 120_000);

  it('runs a command in the exec terminal (token as a WebSocket subprotocol)', async () => {
    const [button] = await page.$$('xpath/.//button[normalize-space()="Terminal"]');
    expect(button, 'the Terminal button').toBeTruthy();
    await button!.click();
    await expect.poll(() => text('[data-testid=terminal-status]'), { timeout: 30_000 }).toContain('connected');
    await page.click('[data-testid=terminal]');
    await page.keyboard.type('echo $((40+2))');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.$$eval('.xterm-rows > div', (rows) => rows.some((r) => (r.textContent ?? '').trim() === '42')), {
        timeout: 20_000,
      })
      .toBe(true);
    await shot('terminal');
  }, 90_000);

  it('at a phone width the overview fits the screen', async () => {
    await page.setViewport({ width: 390, height: 844 });
    await page.click('[data-nav=overview]');
    await page.waitForSelector(`[data-testid="node-${a.node}"]`, { timeout: 20_000 });
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    expect(scroll).toBeLessThanOrEqual(client + 1);
    await shot('phone');
  }, 60_000);
});
