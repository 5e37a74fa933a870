// Lifecycle hooks (postStart/preStop) through the handler runner: exec exit codes and
// kubelet's messages, httpGet (status ignored, transport errors fail), sleep, timeouts
// and abort.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLifecycleHandler, type HookTarget } from '../../agent/probes/handlers.js';
import { execRuntime } from './probe-fixtures.js';

describe('runLifecycleHandler', () => {
  let server: Server;
  let port = 0;
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.url} ${req.headers['user-agent']}`);
      res.writeHead(req.url === '/bad' ? 500 : 200);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.close();
  });

  const target = (runtime = execRuntime(() => ({ code: 0 }))): HookTarget => ({
    runtime,
    containerId: 'c1',
    container: { name: 'app' },
    podIP: '127.0.0.1',
    podRef: 'p_default(uid-1)',
  });

  it('exec succeeds on exit 0', async () => {
    const log: string[][] = [];
    await runLifecycleHandler(
      { exec: { command: ['sh', '-c', 'echo hi > /tmp/x'] } },
      target(execRuntime(() => ({ code: 0 }), log)),
    );
    expect(log).toEqual([['sh', '-c', 'echo hi > /tmp/x']]);
  });

  it("exec fails on a non-zero exit with kubelet's message", async () => {
    await expect(
      runLifecycleHandler(
        { exec: { command: ['sh', '-c', 'exit 3'] } },
        target(execRuntime(() => ({ code: 3, err: 'nope' }))),
      ),
    ).rejects.toThrow(
      'Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod "p_default(uid-1)" failed - error: command \'sh -c exit 3\' exited with 3: nope, message: "nope"',
    );
  });

  it('exec gives up after the timeout (preStop bounded by the grace period)', async () => {
    const t0 = Date.now();
    await expect(
      runLifecycleHandler({ exec: { command: ['sleep', '60'] } }, target(execRuntime(() => ({ code: 0, ms: 5000 }))), {
        timeoutMs: 300,
      }),
    ).rejects.toThrow('timed out');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('exec stops waiting when aborted (pod deleted during postStart)', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(
      runLifecycleHandler({ exec: { command: ['sleep', '60'] } }, target(execRuntime(() => ({ code: 0, ms: 5000 }))), {
        signal: ac.signal,
      }),
    ).rejects.toThrow('cancelled');
  });

  it('httpGet reaches the pod with kube-lifecycle as user agent; the HTTP status does not matter (as kubelet)', async () => {
    await runLifecycleHandler({ httpGet: { port, path: '/started' } }, target());
    await runLifecycleHandler({ httpGet: { port, path: '/bad' } }, target());
    expect(hits).toEqual(['/started kube-lifecycle/1.32', '/bad kube-lifecycle/1.32']);
  });

  it('httpGet fails on a transport error', async () => {
    await expect(runLifecycleHandler({ httpGet: { port: 1, path: '/x' } }, target())).rejects.toThrow(
      'HTTP lifecycle hook (/x) for Container "app" in Pod "p_default(uid-1)" failed - error: Get "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused',
    );
  });

  it('sleep waits, bounded by the timeout', async () => {
    const t0 = Date.now();
    await runLifecycleHandler({ sleep: { seconds: 5 } }, target(), { timeoutMs: 200 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
