// Slow and hostile clients at the HTTP edge (issue 10 items 12 and 13-TLS, and the
// clientError defence): header, body, idle and handshake time-outs, a refused request's
// body is not waited for, a per-address cap on unauthenticated connections, malformed
// requests answered with a Status, TLS 1.2 only with AEAD suites. Watches are not cut.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, rawExchange, startEdgeServer, TOKEN, type EdgeServer } from './http-edge-fixtures.js';

const LIMITS = {
  headersTimeoutMs: 400,
  bodyTimeoutBaseMs: 400,
  bodyMinBytesPerSecond: 100_000,
  idleTimeoutMs: 400,
  maxUnauthenticatedPerIp: 4,
};

/** a plain TCP connection that writes `first`, then one byte of `trickle` every `everyMs` */
function trickle(
  port: number,
  first: string,
  trickleText: string,
  everyMs: number,
): Promise<{ text: string; ms: number }> {
  return new Promise((res) => {
    const t0 = Date.now();
    let text = '';
    const sock = netConnect(port, '127.0.0.1', () => sock.write(first));
    let i = 0;
    const timer = setInterval(() => {
      if (!sock.destroyed && i < trickleText.length) sock.write(trickleText[i++]!);
    }, everyMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      text += d;
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearInterval(timer);
      res({ text, ms: Date.now() - t0 });
    });
  });
}

const open = (port: number): Promise<Socket> =>
  new Promise((res, rej) => {
    const s = netConnect(port, '127.0.0.1', () => res(s));
    s.on('error', rej);
  });
const closed = (s: Socket): Promise<void> =>
  new Promise((res) => {
    if (s.destroyed) res();
    else s.once('close', () => res());
  });

describe('HTTP edge: time-outs and caps (plain HTTP, small limits)', () => {
  let s: EdgeServer;
  beforeAll(async () => {
    s = await startEdgeServer({ tls: false, limits: LIMITS });
  });
  afterAll(async () => {
    await s.close();
  });

  it('slow headers: 408 Status and closed after the header time-out', async () => {
    const r = await trickle(
      s.port,
      'GET /api HTTP/1.1\r\nHost: x\r\n',
      'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      100,
    );
    expect(bodyOf(r.text)).toMatchObject({ status: 408, json: { kind: 'Status', code: 408 } });
    expect(r.ms).toBeLessThan(3000);
  });

  it('a trickled body (authenticated): 408 Status and closed after base + size / rate', async () => {
    const r = await trickle(
      s.port,
      `PUT /api/v1/namespaces/default/configmaps/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{`,
      ' '.repeat(1000),
      50,
    );
    expect(bodyOf(r.text)).toMatchObject({ status: 408, json: { kind: 'Status', code: 408 } });
    expect(r.ms).toBeLessThan(3000);
  });

  it('401 for a request with a body: answered with Connection: close, the rest of the body not awaited', async () => {
    const r = await trickle(
      s.port,
      'POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{',
      ' '.repeat(1000),
      20,
    );
    expect(bodyOf(r.text)).toMatchObject({ status: 401, json: { kind: 'Status', code: 401 } });
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(r.ms).toBeLessThan(2000);
  });

  it('an idle kept-alive connection is closed after the idle time-out', async () => {
    const sock = await open(s.port);
    let text = '';
    sock.on('data', (d) => {
      text += d;
    });
    sock.write(`GET /version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    const t0 = Date.now();
    await closed(sock);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('at most 4 unauthenticated connections per address; authenticating or closing frees a slot', async () => {
    const socks = await Promise.all([0, 1, 2, 3].map(() => open(s.port)));
    const edge = (await import('../../controlplane/api/server.js')).httpEdgeOf(s.app)!;
    await expect.poll(() => edge.unauthenticatedCount('127.0.0.1')).toBe(4);
    const fifth = await open(s.port);
    await closed(fifth); // refused at once
    // one authenticates: its slot is free again
    socks[0]!.write(`GET /version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    await expect.poll(() => edge.unauthenticatedCount('127.0.0.1')).toBe(3);
    const sixth = await open(s.port);
    await expect.poll(() => edge.unauthenticatedCount('127.0.0.1')).toBe(4);
    for (const x of [...socks, sixth]) x.destroy();
    await expect.poll(() => edge.unauthenticatedCount('127.0.0.1')).toBe(0);
  });

  it('malformed requests get a 400 Status (431 for huge headers) and the server goes on', async () => {
    for (const bad of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]) {
      const r = await rawExchange(s, bad, { tls: false });
      expect(bodyOf(r.text)).toMatchObject({ status: 400, json: { kind: 'Status', code: 400 } });
      expect(r.closed).toBe(true);
    }
    const huge = await rawExchange(s, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, {
      tls: false,
    });
    expect(bodyOf(huge.text)).toMatchObject({ status: 431, json: { kind: 'Status' } });
    const ok = await rawExchange(s, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { tls: false });
    expect(ok.text).toMatch(/^HTTP\/1\.1 200/);
  });

  it('a watch outlives every time-out (no body: its request is complete)', async () => {
    const events: string[] = [];
    const req = request({
      host: '127.0.0.1',
      port: s.port,
      path: '/api/v1/namespaces/default/configmaps?watch=true',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const res = await new Promise<import('node:http').IncomingMessage>((r) => {
      req.on('response', r);
      req.end();
    });
    res.setEncoding('utf8');
    res.on('data', (d: string) => events.push(d));
    let ended = false;
    res.on('close', () => {
      ended = true;
    });
    // well past header, body, idle and request limits (all 400 ms here, checked every second)
    const t0 = Date.now();
    await expect.poll(() => Date.now() - t0 > 2500, { timeout: 5000, interval: 100 }).toBe(true);
    expect(ended).toBe(false);
    const c = await s.app.inject({
      method: 'POST',
      url: '/api/v1/namespaces/default/configmaps',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: '{"metadata":{"name":"late"}}',
    });
    expect(c.statusCode).toBe(201);
    await expect.poll(() => events.join('')).toMatch(/"ADDED".*"late"/);
    req.destroy();
  });
});

describe('HTTP edge: TLS', () => {
  let s: EdgeServer;
  beforeAll(async () => {
    s = await startEdgeServer({ limits: LIMITS });
  });
  afterAll(async () => {
    await s.close();
  });

  const handshake = (
    port: number,
    opts: { maxVersion?: 'TLSv1.2' | 'TLSv1.3'; minVersion?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string },
    ca = s.ca,
  ): Promise<{ ok: boolean; cipher?: string; version?: string | null; error?: string }> =>
    new Promise((res) => {
      const sock = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...opts }, () => {
        const c = sock.getCipher();
        res({ ok: true, cipher: c.standardName, version: sock.getProtocol() });
        sock.destroy();
      });
      sock.on('error', (e) => res({ ok: false, error: e.message }));
    });

  it('TLS 1.2 refuses CBC and SHA-1 suites; AEAD suites and TLS 1.3 work', async () => {
    const cbc = [
      'ECDHE-ECDSA-AES128-SHA',
      'ECDHE-ECDSA-AES256-SHA',
      'ECDHE-ECDSA-AES128-SHA256',
      'ECDHE-ECDSA-AES256-SHA384',
    ];
    // control: a TLS server with Node's defaults still agrees to them with this client
    const plain = createTlsServer({ key: s.tls!.key, cert: s.tls!.cert });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    const plainPort = (plain.address() as { port: number }).port;
    const control = await handshake(plainPort, { maxVersion: 'TLSv1.2', ciphers: cbc[0] });
    expect(control, control.error).toMatchObject({ ok: true });
    plain.close();
    for (const c of cbc)
      expect(await handshake(s.port, { maxVersion: 'TLSv1.2', ciphers: c }), c).toMatchObject({ ok: false });
    for (const c of [
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES256-GCM-SHA384',
      'ECDHE-ECDSA-CHACHA20-POLY1305',
    ]) {
      expect(await handshake(s.port, { maxVersion: 'TLSv1.2', ciphers: c }), c).toMatchObject({
        ok: true,
        version: 'TLSv1.2',
      });
    }
    expect(await handshake(s.port, { minVersion: 'TLSv1.3' })).toMatchObject({ ok: true, version: 'TLSv1.3' });
  });

  it('a connection that never completes the TLS handshake is closed after the handshake time-out', async () => {
    const t0 = Date.now();
    const sock = await open(s.port);
    await closed(sock);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
