// The prober against real local sockets (httpGet over http and https with an untrusted
// certificate, tcpSocket) and a scripted runtime exec: results, kubelet's failure
// messages, and timeoutSeconds.
import { createServer as createHttp, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../agent/probes/prober.js';
import { ensurePki } from '../../controlplane/security/pki.js';
import type { Runtime } from '../../agent/runtime/types.js';
import { execRuntime } from './probe-fixtures.js';

const listen = (s: Server | ReturnType<typeof createTcp>) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

describe('runProbe', () => {
  let http: Server;
  let https: Server;
  let httpPort = 0;
  let httpsPort = 0;
  let closedPort = 0;
  let seen: { url?: string; headers: IncomingHttpHeaders }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'skiff-probe-'));
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    seen.push({ url: req.url, headers: req.headers });
    if (req.url === '/slow') {
      setTimeout(() => res.end('late'), 2000);
      return;
    }
    const code = Number(/^\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
    res.writeHead(code, code === 302 ? { Location: '/elsewhere' } : {});
    res.end(`body of ${req.url}`);
  };

  beforeAll(async () => {
    http = createHttp(handler);
    httpPort = await listen(http);
    const pki = await ensurePki(dir, ['localhost']);
    https = createHttps({ cert: pki.certPem, key: pki.keyPem }, handler);
    httpsPort = await listen(https);
    const t = createTcp();
    closedPort = await listen(t);
    await new Promise((r) => t.close(r));
  });
  afterAll(() => {
    http.close();
    https.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (ports: { name: string; containerPort: number }[] = []) => ({
    runtime: {} as Runtime,
    containerId: 'c1',
    container: { name: 'app', ports },
    podIP: '127.0.0.1',
  });

  it.each([
    ['/status/200', 'success'],
    ['/status/204', 'success'],
    ['/status/302', 'success'],
    ['/status/399', 'success'],
    ['/status/400', 'failure'],
    ['/status/500', 'failure'],
  ] as const)('httpGet %s -> %s', async (path, result) => {
    const out = await runProbe({ httpGet: { port: httpPort, path } }, target());
    expect(out).toMatchObject({ result });
    if (result === 'failure')
      expect(out).toEqual({ result, output: `HTTP probe failed with statuscode: ${path.slice(8)}` });
  });

  it('httpGet by port name with headers, Host override and kube-probe user agent', async () => {
    seen = [];
    const out = await runProbe(
      {
        httpGet: {
          port: 'web',
          path: '/healthz',
          httpHeaders: [
            { name: 'Host', value: 'app.example' },
            { name: 'X-Check', value: '1' },
          ],
        },
      },
      target([{ name: 'web', containerPort: httpPort }]),
    );
    expect(out).toEqual({ result: 'success', output: 'body of /healthz' });
    expect(seen[0]!.headers).toMatchObject({
      host: 'app.example',
      'x-check': '1',
      'user-agent': 'kube-probe/1.32',
      accept: '*/*',
    });
  });

  it('httpGet over https skips certificate verification, as kubelet does', async () => {
    expect(await runProbe({ httpGet: { port: httpsPort, path: '/', scheme: 'HTTPS' } }, target())).toMatchObject({
      result: 'success',
    });
  });

  it("httpGet to a closed port fails with Go's message", async () => {
    expect(await runProbe({ httpGet: { port: closedPort, path: '/' } }, target())).toEqual({
      result: 'failure',
      output: `Get "http://127.0.0.1:${closedPort}/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused`,
    });
  });

  it('httpGet honours timeoutSeconds', async () => {
    const t0 = Date.now();
    const out = await runProbe({ httpGet: { port: httpPort, path: '/slow' }, timeoutSeconds: 1 }, target());
    expect(Date.now() - t0).toBeLessThan(1900);
    expect(out).toEqual({
      result: 'failure',
      output: `Get "http://127.0.0.1:${httpPort}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
    });
  });

  it('httpGet with an unknown port name is an error, not a failure', async () => {
    expect(await runProbe({ httpGet: { port: 'nope', path: '/' } }, target())).toEqual({
      error: 'port nope not found',
    });
  });

  it('tcpSocket: open port succeeds, closed port fails', async () => {
    expect(await runProbe({ tcpSocket: { port: httpPort } }, target())).toEqual({ result: 'success', output: '' });
    expect(await runProbe({ tcpSocket: { port: closedPort } }, target())).toEqual({
      result: 'failure',
      output: `dial tcp 127.0.0.1:${closedPort}: connect: connection refused`,
    });
  });

  it.each([
    [0, 'success', 'ok\n'],
    [1, 'failure', 'ok\n'],
  ] as const)('exec exiting %d -> %s with its output', async (code, result, output) => {
    const log: string[][] = [];
    const out = await runProbe(
      { exec: { command: ['test', '-f', '/tmp/ready'] } },
      { ...target(), runtime: execRuntime(() => ({ out: 'ok\n', code }), log) },
    );
    expect(out).toEqual({ result, output });
    expect(log).toEqual([['test', '-f', '/tmp/ready']]);
  });

  it('exec honours timeoutSeconds: a hanging command fails as timed out', async () => {
    const t0 = Date.now();
    const out = await runProbe(
      { exec: { command: ['sleep', '10'] }, timeoutSeconds: 1 },
      { ...target(), runtime: execRuntime(() => ({ code: 0, ms: 3000 })) },
    );
    expect(Date.now() - t0).toBeLessThan(1900);
    expect(out).toEqual({ result: 'failure', output: 'command "sleep 10" timed out' });
  });

  it('exec that cannot start (container gone) is an error', async () => {
    const runtime = {
      exec: async () => {
        throw new Error('No such container: c1');
      },
    } as unknown as Runtime;
    expect(await runProbe({ exec: { command: ['true'] } }, { ...target(), runtime })).toEqual({
      error: 'No such container: c1',
    });
  });
});
