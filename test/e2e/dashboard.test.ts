// The built-in web dashboard (issue 18) in a real browser: Debian's chromium driven by
// playwright-core, against a server with one real agent on Docker and the real kubectl.
// A wrong token shows an error and no data; the admin token logs in; the node and a pod
// created by kubectl appear without a reload; a Deployment scaled from the UI is what
// kubectl then reads; a pod's log shows a line its container printed; the exec terminal
// runs a command; cordon/uncordon and delete are the API calls kubectl sees. With a second (registered, agentless) node and 50 pods it prints the
// time from login to the first view (Performance API; printed, not asserted).
// Screenshots go to test-artifacts/dashboard/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  ROOT,
  dockerAvailable,
  eventually,
  httpsRequest,
  k,
  kubectl,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
const HOLLOW = 'dash-hollow';

describe('web dashboard in Chromium', () => {
  let s: ServerProc;
  let a: AgentProc;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const browserLog: string[] = [];

  const shot = async (p: Page, name: string) => {
    await p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    // missing tools are failures, not skips
    expect(dockerAvailable(), 'docker').toBe(true);
    expect(kubectlAvailable(), 'kubectl').toBe(true);
    expect(existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium)`).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    s = await startServer();
    a = startAgent(s);
    // playwright gives the browser a fresh profile (--user-data-dir in a new temporary
    // directory); nothing reaches out (this machine is offline)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
    page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') browserLog.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (r) => browserLog.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    // the second node: registered through the API, no agent behind it
    const node = await httpsRequest(s, 'POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: HOLLOW, labels: { 'kubernetes.io/hostname': HOLLOW, 'node-role.kubernetes.io/worker': '' } },
    });
    expect(node.status).toBe(201);
    const st = await httpsRequest(
      s,
      'PATCH',
      `/api/v1/nodes/${HOLLOW}/status`,
      {
        status: {
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        },
      },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(st.status).toBe(200);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 200);
  }, 120_000);

  afterAll(async () => {
    await ctx?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  const dash = () => `${s.url}/dashboard/`;
  // Docker adding a container's interface (other tests' pods) makes Chromium abort a
  // navigation in flight: net::ERR_NETWORK_CHANGED, or the goto is "interrupted by another
  // navigation" to its error page (chrome-error://chromewebdata/) or to that page reloading
  // itself. Let that navigation finish, then navigate again.
  const networkChanged = (e: unknown) =>
    /ERR_NETWORK_CHANGED|interrupted by another navigation|chrome-error:/.test(String(e));
  const goto = async (p: Page, url: string) => {
    for (let i = 0; ; i++) {
      try {
        await p.goto(url);
        return;
      } catch (e) {
        if (i >= 4 || !networkChanged(e)) throw e;
        await p.waitForLoadState('load').catch(() => undefined);
      }
    }
  };

  it('serves the page without a token; a wrong token shows an error and no data', async () => {
    const r = await httpsRequest(s, 'GET', '/dashboard/', undefined, {}, null);
    expect(r.status).toBe(200);
    expect(r.body).toContain('<div id="app">');
    await goto(page, dash());
    await page.fill('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await expect
      .poll(() => page.textContent('[data-testid=login-error]').catch(() => ''), { timeout: 15_000 })
      .toContain('401');
    expect(await page.locator('[data-testid=overview]').count()).toBe(0);
    // the same through #token=: logged out again with the error, the token gone from the URL
    await goto(page, `${dash()}#token=still-wrong`);
    await page.waitForSelector('[data-testid=login-error]', { timeout: 15_000 });
    expect(page.url()).not.toContain('still-wrong');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot(page, 'login-error');
  }, 60_000);

  it('logs in with the token; the node and a pod created by kubectl appear without a reload', async () => {
    await goto(page, dash());
    await page.fill('#token', s.token);
    await page.click('button[type=submit]');
    await page.waitForSelector(`[data-testid="node-${a.node}"]`, { timeout: 20_000 });
    await page.waitForSelector(`[data-testid="node-${HOLLOW}"]`, { timeout: 20_000 });
    expect(await page.evaluate(() => sessionStorage.getItem('skiff.dashboard.token'))).toBe(s.token);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await expect.poll(() => page.textContent(`[data-testid="node-${a.node}"]`), { timeout: 20_000 }).toContain('Ready');

    await page.click('[data-nav=workloads]');
    await page.waitForSelector('[data-testid=workloads]');
    expect(page.url()).toContain('#/workloads');
    k(s, [
      'run',
      'hello',
      `--image=${BUSYBOX}`,
      '--restart=Never',
      '--',
      'sh',
      '-c',
      'echo hello-from-the-dashboard-test; sleep 3600',
    ]);
    await page.waitForSelector('tr[data-pod=hello]', { timeout: 20_000 });
    await expect.poll(() => page.textContent('tr[data-pod=hello]'), { timeout: 60_000 }).toContain('Running');
  }, 120_000);

  it('scales a Deployment from the UI and kubectl agrees; restart stamps restartedAt', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: web, image: ${BUSYBOX}, command: [sleep, '3600'], resources: {requests: {cpu: 200m, memory: 128Mi}}}]
`,
    );
    const row = page.locator('tr[data-workload=web]');
    await row.waitFor({ timeout: 20_000 });
    await row.locator('input[type=number]').fill('3');
    await row.locator('button', { hasText: 'Scale' }).click();
    await eventually(
      () => expect(k(s, ['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('3'),
      20_000,
      200,
    );
    await expect.poll(() => row.locator('[data-testid=ready]').textContent(), { timeout: 60_000 }).toBe('3/3');
    await row.locator('button', { hasText: 'Restart' }).click();
    await eventually(
      () =>
        expect(
          k(s, [
            'get',
            'deployment',
            'web',
            '-o',
            'jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}',
          ]),
        ).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      20_000,
      200,
    );
    await shot(page, 'workloads');
    // the restarted rollout's containers are in place before the next streams open (a new
    // container's interface is a network change to Chromium)
    k(s, ['rollout', 'status', 'deployment/web', '--timeout=90s']);
  }, 120_000);

  it("shows a pod's log line and runs a command in the exec terminal", async () => {
    await page.click('tr[data-pod=hello] a');
    await page.waitForSelector('[data-testid=pod-detail]');
    expect(page.url()).toContain('#/pod/default/hello');
    await expect
      .poll(() => page.textContent('[data-testid=log]'), { timeout: 30_000 })
      .toContain('hello-from-the-dashboard-test');
    await shot(page, 'pod-logs');
    // Docker adding a container's interface (any test's, on this machine) makes Chromium
    // abort requests in flight (net::ERR_NETWORK_CHANGED), the terminal's script or its
    // WebSocket among them: the page says so; load the page again, as a user would (3 tries)
    for (let attempt = 1; ; attempt++) {
      await page.click('button:has-text("Terminal")');
      try {
        await eventually(
          async () =>
            expect(await page.textContent('[data-testid=terminal-status]')).toMatch(
              /connected|cannot load the terminal|connection failed|disconnected/,
            ),
          30_000,
          200,
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\nbrowser:\n${browserLog.join('\n')}`);
      }
      const status = (await page.textContent('[data-testid=terminal-status]')) ?? '';
      if (/^connected/.test(status)) break;
      if (attempt >= 3) throw new Error(`terminal: ${status}\nbrowser:\n${browserLog.join('\n')}`);
      browserLog.length = 0;
      await goto(page, page.url());
      await page.waitForSelector('[data-testid=pod-detail]');
    }
    await page.click('[data-testid=terminal]');
    await page.keyboard.type('echo $((40+2))');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.xterm-rows').textContent(), { timeout: 20_000 }).toMatch(/\n?42/);
    await expect
      .poll(async () => (await page.locator('.xterm-rows > div').allTextContents()).some((l) => l.trim() === '42'), {
        timeout: 20_000,
      })
      .toBe(true);
    await shot(page, 'pod-terminal');
  }, 90_000);

  it('cordons and uncordons a node; filters by namespace in the URL; deletes a pod', async () => {
    await page.click('[data-nav=overview]');
    const card = page.locator(`[data-testid="node-${HOLLOW}"]`);
    await card.locator('button', { hasText: 'Cordon' }).click();
    await eventually(
      () => expect(k(s, ['get', 'node', HOLLOW, '-o', 'jsonpath={.spec.unschedulable}'])).toBe('true'),
      20_000,
      200,
    );
    await card.locator('button', { hasText: 'Uncordon' }).click();
    await eventually(
      () => expect(k(s, ['get', 'node', HOLLOW, '-o', 'jsonpath={.spec.unschedulable}'])).toBe(''),
      20_000,
      200,
    );

    await page.click('[data-nav=workloads]');
    await page.selectOption('[data-testid=namespace]', 'default');
    await eventually(() => expect(page.url()).toContain('#/workloads?ns=default'), 10_000, 100);
    // one of web's pods (1 s grace): gone from kubectl and from the page, and replaced
    const victim = await page.locator('tr[data-pod^="web-"]').first().getAttribute('data-pod');
    expect(victim).toBeTruthy();
    page.once('dialog', (d) => {
      void d.accept();
    });
    await page.locator(`tr[data-pod="${victim}"] button`, { hasText: 'Delete' }).click();
    await eventually(
      () => {
        const r = kubectl(s, ['get', 'pod', victim!, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
        expect(r.code !== 0 ? r.stderr : r.stdout).toMatch(/NotFound|\d{4}-/);
      },
      20_000,
      200,
    );
    await page.locator(`tr[data-pod="${victim}"]`).waitFor({ state: 'detached', timeout: 30_000 });
    await eventually(
      () => expect(k(s, ['get', 'deployment', 'web', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('3'),
      60_000,
      250,
    );
  }, 90_000);

  it('services, events; with 2 nodes and 50 pods: prints the time from login to the first view', async () => {
    k(s, ['expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    await page.click('[data-nav=services]');
    await page.waitForSelector('tr[data-service=web]', { timeout: 20_000 });
    await shot(page, 'services');
    await page.click('[data-nav=events]');
    await page.waitForSelector('[data-testid=events-table] tbody tr', { timeout: 20_000 });
    await shot(page, 'events');

    // 50 pods in all: the ones above plus pending ones no node can take
    k(s, ['create', 'namespace', 'load']);
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: pending, namespace: load}
spec:
  replicas: 46
  selector: {matchLabels: {app: pending}}
  template:
    metadata: {labels: {app: pending}}
    spec:
      nodeSelector: {skiff.dev/nowhere: "true"}
      containers: [{name: c, image: ${BUSYBOX}, resources: {requests: {cpu: 10m, memory: 16Mi}}}]
`,
    );
    // hello, web's 3 and these 46
    await eventually(
      () => expect(JSON.parse(k(s, ['get', 'pods', '-n', 'load', '-o', 'json'])).items.length).toBe(46),
      60_000,
      500,
    );

    const fresh = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
    try {
      const p = await fresh.newPage();
      await goto(p, dash());
      await p.fill('#token', s.token);
      await p.click('button[type=submit]');
      await p.waitForFunction(() => document.body.dataset.firstViewMs !== undefined, undefined, { timeout: 30_000 });
      const ms = await p.evaluate(() => performance.getEntriesByName('skiff-login-to-first-view')[0]?.duration ?? -1);
      const pods = await p.textContent('[data-testid=pod-count]');
      console.log(
        `dashboard: login to first view ${Math.round(ms)} ms (Performance API) with 2 nodes and ${pods} pods`,
      );
      expect(ms).toBeGreaterThan(0);
      await expect.poll(() => p.textContent('[data-testid=pod-count]'), { timeout: 20_000 }).toMatch(/^(5\d|[6-9]\d)$/);
      // the restart's old pods gone (1 s grace), for the picture
      await eventually(
        async () => expect(await p.textContent('.phases')).not.toContain('Terminating'),
        30_000,
        250,
      ).catch(() => undefined);
      await shot(p, 'overview');
      // a phone's width: the overview still lays out (cards stack)
      await p.setViewportSize({ width: 390, height: 844 });
      await shot(p, 'overview-phone');
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    } finally {
      await fresh.close();
    }
  }, 120_000);
});
