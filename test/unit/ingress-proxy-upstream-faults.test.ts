// The agent's Ingress proxy against upstreams that misbehave, over real sockets: a response
// head Node's client parser accepts but its server refuses to write (status 099, a DEL in the
// reason phrase) is a 502 and the process lives on; upgrade requests the client aborts right
// after sending leave no upstream connection open.
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { NetIngress, NetService, NetworkState } from '../../proto/agent-protocol.js';
import { IngressController } from '../../agent/ingress/ingress-controller.js';

async function listen(s: Server): Promise<number> {
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return (s.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = createTcpServer();
  const p = await listen(s);
  s.close();
  return p;
}

/** an upstream that answers every request with `head` (raw bytes, as written) */
function rawUpstream(head: string): Server {
  return createTcpServer((s) => {
    let got = '';
    s.on('data', (d) => {
      got += d;
      if (got.includes('\r\n\r\n')) s.end(head);
    });
    s.on('error', () => {});
  });
}

function get(port: number, host: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: url, headers: { Host: host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the Ingress proxy against misbehaving upstreams', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-ingress-faults-'));
  const servers: Server[] = [];
  let proxy: IngressController;
  let port = 0;
  // the upgrade upstream: counts the connections it has and has had; never answers, never closes
  const held = new Set<Socket>();
  let accepted = 0;

  const svc = (name: string, p: number): NetService => ({
    namespace: 'default',
    name,
    clusterIP: '10.43.0.9',
    type: 'ClusterIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    endpoints: [{ ip: '127.0.0.1', ready: true, ports: [{ name: 'http', port: p, protocol: 'TCP' }] }],
  });
  const route = (host: string, service: string): NetIngress => ({
    namespace: 'default',
    name: host,
    rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', backend: { service, port: 80 } }] }],
  });

  beforeAll(async () => {
    const heads: Array<[string, string]> = [
      ['status99', 'HTTP/1.1 099 X\r\nContent-Length: 2\r\n\r\nhi'],
      ['del', 'HTTP/1.1 200 O\x7fK\r\nContent-Length: 2\r\n\r\nhi'],
      ['fine', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'],
    ];
    const services: NetService[] = [];
    const ingresses: NetIngress[] = [];
    for (const [name, head] of heads) {
      const s = rawUpstream(head);
      servers.push(s);
      services.push(svc(name, await listen(s)));
      ingresses.push(route(`${name}.test`, name));
    }
    const hold = createTcpServer((s) => {
      accepted++;
      held.add(s);
      s.on('error', () => {});
      s.on('close', () => held.delete(s));
      s.resume();
    });
    servers.push(hold);
    services.push(svc('hold', await listen(hold)));
    ingresses.push(route('hold.test', 'hold'));
    port = await freePort();
    proxy = new IngressController({
      httpPort: port,
      httpsPort: 0,
      host: '127.0.0.1',
      dataDir,
      nodeName: 'n1',
      log: pino({ level: 'silent' }),
    });
    await proxy.start();
    const state: NetworkState = {
      type: 'network',
      clusterCIDR: '10.42.0.0/16',
      serviceCIDR: '10.43.0.0/16',
      clusterDNS: '10.43.0.10',
      clusterDomain: 'cluster.local',
      nodes: [],
      services,
      ingresses,
    };
    proxy.apply(state);
    for (let i = 0; i < 250; i++) {
      try {
        await get(port, 'x', '/');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });

  afterAll(async () => {
    await proxy.stop();
    for (const s of held) s.destroy();
    for (const s of servers) s.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['status99.test', 'status 099'],
    ['del.test', 'a DEL in the reason phrase'],
  ])('%s (%s): 502 Bad Gateway, and the proxy serves on', async (host) => {
    expect(await get(port, host, '/')).toEqual({ status: 502, body: 'Bad Gateway\n' });
    expect(await get(port, 'fine.test', '/')).toEqual({ status: 200, body: 'hi' });
  });

  it('upgrade requests aborted right after sending leave no upstream connection open', async () => {
    const n = 40;
    const before = accepted;
    await Promise.all(
      Array.from({ length: n }, async () => {
        const c = connect(port, '127.0.0.1');
        c.on('error', () => {});
        await once(c, 'connect');
        c.write('GET / HTTP/1.1\r\nHost: hold.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', () =>
          c.resetAndDestroy(),
        );
      }),
    );
    // every aborted upgrade reached the upstream (or never will), and none of those stays open
    await until(
      `the upstream to see all ${n} connections closed (accepted ${accepted - before}, open ${held.size})`,
      () => accepted - before === n && held.size === 0,
    );
  });
});
