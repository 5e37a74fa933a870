// kubectl port-forward end to end: real server, agent, Docker and kubectl 1.32.
// The WebSocket tunnel (SPDY/3.1 inside WebSocket binary messages) and the SPDY/3.1
// upgrade fallback, sequential and concurrent requests, a 2 MB body, a port nothing
// listens on, deploy/ targets, the client-node channel protocol, and garbage frames.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  KUBECTL,
  dockerAvailable,
  eventually,
  freePort,
  httpsRequest,
  k,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

const template = (node: string) => `    spec:
      nodeSelector: {kubernetes.io/hostname: ${node}}
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${BUSYBOX}
        command: ["sh", "-c", "dd if=/dev/urandom of=/var/www/big bs=1024 count=2048 2>/dev/null; exec httpd -f -p 8080 -h /var/www"]`;

interface Forward {
  proc: ChildProcess;
  out: () => string;
  stop(): Promise<void>;
}

describe.skipIf(!enabled)('kubectl port-forward', () => {
  let s: ServerProc;
  let a: AgentProc;
  const forwards: Forward[] = [];

  /** start kubectl port-forward and wait for "Forwarding from" */
  async function forward(args: string[], env: Record<string, string> = {}): Promise<Forward> {
    let out = '';
    const proc = spawn(
      KUBECTL,
      [
        '--kubeconfig',
        s.kubeconfig,
        '--cache-dir',
        join(s.dataDir, 'kube-cache'),
        'port-forward',
        '--address',
        '127.0.0.1',
        ...args,
      ],
      {
        env: { ...process.env, HOME: s.dataDir, ...env },
      },
    );
    proc.stdout!.on('data', (d) => {
      out += d;
    });
    proc.stderr!.on('data', (d) => {
      out += d;
    });
    const f: Forward = {
      proc,
      out: () => out,
      async stop() {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await done;
      },
    };
    forwards.push(f);
    await eventually(
      () => {
        if (proc.exitCode !== null) throw new Error(`kubectl port-forward exited ${proc.exitCode}: ${out}`);
        const lines = out.split('\n').filter((l) => l.startsWith('Forwarding from'));
        expect(lines.length).toBe(args.filter((x) => /^\d+:\d+$/.test(x)).length);
      },
      15_000,
      100,
    );
    return f;
  }

  function get(port: number, path = '/'): Promise<{ status: number; body: Buffer }> {
    return new Promise((res, rej) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'close' } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (d: Buffer) => chunks.push(d));
          r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks) }));
          r.on('error', rej);
        },
      );
      req.setTimeout(20_000, () => req.destroy(new Error('request timed out')));
      req.on('error', rej);
      req.end();
    });
  }

  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
${template(a.node).replace(/^ {4}/gm, '')}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: webd}
spec:
  replicas: 1
  selector: {matchLabels: {app: webd}}
  template:
    metadata: {labels: {app: webd}}
${template(a.node)}
`,
    );
    await eventually(
      () => {
        const pods = JSON.parse(k(s, ['get', 'pods', '-o', 'json'])).items;
        expect(pods.length).toBe(2);
        for (const p of pods) expect(p.status.phase).toBe('Running');
      },
      40_000,
      250,
    );
    // httpd is up and the big file written
    await eventually(
      () =>
        expect(
          k(s, ['exec', 'web', '--', 'sh', '-c', 'wc -c < /var/www/big; wget -qO- http://127.0.0.1:8080/']).trim(),
        ).toBe('2097152\nhello from skiff'),
      20_000,
      300,
    );
  }, 120_000);

  afterAll(async () => {
    for (const f of forwards) await f.stop();
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('forwards pod/web over the WebSocket tunnel: sequential, concurrent and a 2 MB body intact', async () => {
    const port = await freePort();
    const f = await forward(['pod/web', `${port}:8080`]);
    for (let i = 0; i < 4; i++) {
      const r = await get(port);
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('hello from skiff\n');
    }
    const many = await Promise.all(Array.from({ length: 5 }, () => get(port)));
    for (const r of many) expect(r.body.toString()).toBe('hello from skiff\n');
    const want = k(s, ['exec', 'web', '--', 'md5sum', '/var/www/big']).split(/\s/)[0];
    const big = await get(port, '/big');
    expect(big.body.length).toBe(2 * 1024 * 1024);
    expect(md5(big.body)).toBe(want);
    // two big ones at once
    const two = await Promise.all([get(port, '/big'), get(port, '/big')]);
    for (const r of two) expect(md5(r.body)).toBe(want);
    expect(f.proc.exitCode).toBeNull();
    await f.stop();
  });

  it('works over the SPDY/3.1 upgrade fallback (KUBECTL_PORT_FORWARD_WEBSOCKETS=false), and for deploy/ and svc/', async () => {
    const port = await freePort();
    const f = await forward(['pod/web', `${port}:8080`], { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' });
    expect((await get(port)).body.toString()).toBe('hello from skiff\n');
    const many = await Promise.all(Array.from({ length: 5 }, () => get(port)));
    for (const r of many) expect(r.body.toString()).toBe('hello from skiff\n');
    const want = k(s, ['exec', 'web', '--', 'md5sum', '/var/www/big']).split(/\s/)[0];
    expect(md5((await get(port, '/big')).body)).toBe(want);
    await f.stop();

    const dport = await freePort();
    const d = await forward(['deploy/webd', `${dport}:8080`]);
    expect((await get(dport)).body.toString()).toBe('hello from skiff\n');
    await d.stop();

    // svc/: kubectl resolves the service's selector and targetPort to a pod itself
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
    );
    const sport = await freePort();
    const sv = await forward(['svc/web', `${sport}:80`]);
    expect(sv.out()).toContain('-> 8080');
    expect((await get(sport)).body.toString()).toBe('hello from skiff\n');
    await sv.stop();
  });

  it('reports a port nothing listens on through the error stream, and the session keeps serving', async () => {
    const bad = await freePort();
    const good = await freePort();
    const f = await forward(['pod/web', `${bad}:9999`, `${good}:8080`]);
    await expect(get(bad)).rejects.toThrow();
    await eventually(() => expect(f.out()).toContain('error forwarding port 9999 to pod default/web'), 10_000, 100);
    expect(f.out()).toMatch(
      /an error occurred forwarding \d+ -> 9999: error forwarding port 9999 to pod default\/web, uid [0-9a-f-]+: failed to connect to [\d.]+:9999: connection refused/,
    );
    // kubectl 1.32 itself closes the tunnel after an error on the error stream
    // ("lost connection to pod"); while it is still up, the other port serves
    await new Promise((r) => setTimeout(r, 500));
    if (f.proc.exitCode === null) expect((await get(good)).body.toString()).toBe('hello from skiff\n');
    else expect(f.out()).toContain('lost connection to pod');
    await f.stop();
    // the server is fine either way: a new session works
    const port = await freePort();
    const g = await forward(['pod/web', `${port}:8080`]);
    expect((await get(port)).body.toString()).toBe('hello from skiff\n');
    await g.stop();
  });

  it('speaks the WebSocket channel protocol (client-node PortForward): port prefix, data on 0, errors on 1', async () => {
    const ws = new WebSocket(
      `wss://127.0.0.1:${s.port}/api/v1/namespaces/default/pods/web/portforward?ports=8080`,
      ['v4.channel.k8s.io'],
      {
        ca: s.caPem,
        servername: 'localhost',
        headers: { Authorization: `Bearer ${s.token}` },
      } as WebSocket.ClientOptions,
    );
    const got: Buffer[] = [];
    const closed = new Promise<void>((r) => ws.on('close', () => r()));
    ws.on('message', (m: Buffer) => got.push(m));
    await new Promise((r, j) => {
      ws.on('open', r);
      ws.on('error', j);
    });
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET / HTTP/1.0\r\n\r\n')]));
    await closed;
    const ch0 = got.filter((m) => m[0] === 0);
    const ch1 = got.filter((m) => m[0] === 1);
    expect([...ch0[0]!]).toEqual([0, 8080 & 0xff, 8080 >> 8]);
    expect([...ch1[0]!]).toEqual([1, 8080 & 0xff, 8080 >> 8]);
    const body = Buffer.concat(ch0.slice(1).map((m) => m.subarray(1))).toString();
    expect(body).toMatch(/^HTTP\/1\.[01] 200/);
    expect(body).toContain('hello from skiff');
  });

  it('closes a session that sends garbage, with an error, and crashes nothing', async () => {
    // WebSocket tunnel: garbage instead of SPDY frames. (The ws client refuses the
    // SPDY/3.1+portforward.k8s.io token, so the handshake is done by hand here.)
    const wsFrames = await new Promise<{ opcode: number; payload: Buffer }[]>((res, rej) => {
      const sock = tlsConnect({ host: '127.0.0.1', port: s.port, ca: s.caPem, servername: 'localhost' }, () => {
        sock.write(
          `GET /api/v1/namespaces/default/pods/web/portforward HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n\r\n`,
        );
      });
      let buf = Buffer.alloc(0);
      let sent = false;
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (!sent && end >= 0) {
          expect(buf.subarray(0, end).toString()).toMatch(
            /^HTTP\/1\.1 101[\s\S]*Sec-WebSocket-Protocol: SPDY\/3\.1\+portforward\.k8s\.io/i,
          );
          sent = true;
          const payload = Buffer.from([0x80, 0x02, 0x00, 0x01, 0, 0, 0, 0]); // a SPDY/2 control frame
          sock.write(Buffer.concat([Buffer.from([0x82, 0x80 | payload.length, 0, 0, 0, 0]), payload])); // masked with a zero key
        }
      });
      sock.on('close', () => {
        const out: { opcode: number; payload: Buffer }[] = [];
        let b = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
        while (b.length >= 2) {
          let len = b[1]! & 0x7f;
          let off = 2;
          if (len === 126) {
            len = b.readUInt16BE(2);
            off = 4;
          }
          out.push({ opcode: b[0]! & 0x0f, payload: b.subarray(off, off + len) });
          b = b.subarray(off + len);
        }
        res(out);
      });
      sock.on('error', rej);
      setTimeout(() => {
        sock.destroy();
        rej(new Error('tunnel not closed'));
      }, 10_000);
    });
    // a GOAWAY(PROTOCOL_ERROR) in a binary message, then a close frame 1002 with the reason
    const goaway = wsFrames.find((f) => f.opcode === 2)!.payload;
    expect(goaway.readUInt16BE(2)).toBe(7);
    expect(goaway.readUInt32BE(12)).toBe(1);
    const close = wsFrames.find((f) => f.opcode === 8)!.payload;
    expect(close.readUInt16BE(0)).toBe(1002);
    expect(close.subarray(2).toString()).toMatch(/unsupported SPDY version/);

    // raw SPDY upgrade: an HTTP request where frames should be
    const raw = await new Promise<string>((res, rej) => {
      const sock = tlsConnect({ host: '127.0.0.1', port: s.port, ca: s.caPem, servername: 'localhost' }, () => {
        sock.write(
          `POST /api/v1/namespaces/default/pods/web/portforward HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n`,
        );
        setTimeout(() => sock.write('GET / HTTP/1.1\r\nHost: garbage\r\n\r\n'), 200);
      });
      let out = '';
      sock.on('data', (d) => {
        out += d.toString('latin1');
      });
      sock.on('close', () => res(out));
      sock.on('error', rej);
      setTimeout(() => {
        sock.destroy();
        rej(new Error(`socket not closed: ${out}`));
      }, 10_000);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(raw).toContain('X-Stream-Protocol-Version: portforward.k8s.io');

    // unauthenticated: refused
    const anon = await httpsRequest(
      s,
      'POST',
      '/api/v1/namespaces/default/pods/web/portforward',
      undefined,
      { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' },
      null,
    );
    expect(anon.status).toBe(401);
    // still serving
    expect((await httpsRequest(s, 'GET', '/readyz')).status).toBe(200);
    const port = await freePort();
    const g = await forward(['pod/web', `${port}:8080`]);
    expect((await get(port)).body.toString()).toBe('hello from skiff\n');
    await g.stop();
  });
});
