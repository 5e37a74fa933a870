// The agent's reconnection: a capped back-off, and a server whose port answers again is
// reconnected to at once instead of after the rest of the back-off.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ServerConnection, backoffDelayMs } from '../../agent/connection/connection.js';
import { ServerList } from '../../agent/connection/server-list.js';
import type { NodeReport } from '../../proto/agent-protocol.js';

describe('backoffDelayMs', () => {
  it.each([
    [0, 500, 1000],
    [1, 1000, 2000],
    [2, 2000, 4000],
    [3, 2500, 5000],
    [10, 2500, 5000],
    [1000, 2500, 5000],
  ])('attempt %i waits between %i and %i ms', (attempt, lo, hi) => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(attempt, 1000, 5000);
      expect(d).toBeGreaterThanOrEqual(lo);
      expect(d).toBeLessThanOrEqual(hi);
    }
  });
});

/** a minimal agent endpoint: answers every register with registered */
function agentEndpoint(
  port = 0,
): Promise<{ server: Server; wss: WebSocketServer; port: number; registrations: number[] }> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const registrations: number[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; node?: { name: string } };
      if (m.type === 'register') {
        registrations.push(Date.now());
        ws.send(JSON.stringify({ type: 'registered', node: 'n1', heartbeatIntervalSeconds: 5 }));
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({ server, wss, port: (server.address() as AddressInfo).port, registrations }),
    ),
  );
}

async function close(e: { server: Server; wss: WebSocketServer }): Promise<void> {
  for (const c of e.wss.clients) c.terminate();
  e.wss.close();
  await new Promise<void>((r) => e.server.close(() => r()));
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ServerConnection reconnection', () => {
  let conn: ServerConnection | undefined;
  afterEach(() => conn?.stop());

  const report = (): NodeReport => ({ name: 'n1' }) as unknown as NodeReport;

  it('reconnects as soon as the server answers again, not after the rest of a long back-off', async () => {
    let ep = await agentEndpoint();
    const port = ep.port;
    let connected = 0;
    // a back-off that would keep it away for 30-60 s: only the probe can bring it back sooner
    conn = new ServerConnection({
      servers: new ServerList([`http://127.0.0.1:${port}`]),
      token: 'secret',
      log: pino({ level: 'silent' }),
      heartbeatIntervalMs: 60_000,
      register: async () => report(),
      conditions: () => [],
      onMessage: () => {},
      onConnected: () => {
        connected++;
      },
      minBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      probeIntervalMs: 200,
    });
    conn.start();
    await waitFor(() => connected === 1, 5000);
    await close(ep);
    // let it fail at least one attempt against the closed port
    await waitFor(() => !conn!.registered, 5000);
    await new Promise((r) => setTimeout(r, 600));
    ep = await agentEndpoint(port);
    await waitFor(() => connected === 2, 10_000);
    expect(ep.registrations).toHaveLength(1);
    await close(ep);
  });

  it('drops a connection that carries nothing for three heartbeat intervals (a cut link) and reconnects', async () => {
    // a server that registers the agent, then goes silent: no messages, no pongs
    const server = createServer();
    const wss = new WebSocketServer({ server, autoPong: false });
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.on('message', (d) => {
        if ((JSON.parse(String(d)) as { type: string }).type === 'register')
          ws.send(JSON.stringify({ type: 'registered', node: 'n1', heartbeatIntervalSeconds: 5 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    conn = new ServerConnection({
      servers: new ServerList([`http://127.0.0.1:${port}`]),
      token: 'secret',
      log: pino({ level: 'silent' }),
      heartbeatIntervalMs: 100,
      register: async () => report(),
      conditions: () => [],
      onMessage: () => {},
      minBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      probeIntervalMs: 100,
    });
    conn.start();
    await waitFor(() => connections >= 2, 10_000);
    conn.stop();
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('keeps its back-off against a server that refuses it (no probe-driven reconnect storm)', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401).end();
    });
    let upgrades = 0;
    server.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    conn = new ServerConnection({
      servers: new ServerList([`http://127.0.0.1:${port}`]),
      token: 'bad',
      log: pino({ level: 'silent' }),
      heartbeatIntervalMs: 60_000,
      register: async () => report(),
      conditions: () => [],
      onMessage: () => {},
      minBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      probeIntervalMs: 100,
    });
    conn.start();
    await waitFor(() => upgrades === 1, 5000);
    // probes would reconnect within ~100 ms; a refused agent must wait its back-off (30 s+)
    await new Promise((r) => setTimeout(r, 1500));
    expect(upgrades).toBe(1);
    conn.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('ServerConnection with several servers', () => {
  let conn: ServerConnection | undefined;
  afterEach(() => conn?.stop());
  const report = (): NodeReport => ({ name: 'n1' }) as unknown as NodeReport;

  it('moves to the next server when its server goes away, and to a learned one when only that is left', async () => {
    const a = await agentEndpoint();
    const b = await agentEndpoint();
    const c = await agentEndpoint();
    const servers = new ServerList([`http://127.0.0.1:${a.port}`, `http://127.0.0.1:${b.port}`]);
    let connected = 0;
    conn = new ServerConnection({
      servers,
      token: 'secret',
      log: pino({ level: 'silent' }),
      heartbeatIntervalMs: 60_000,
      register: async () => report(),
      conditions: () => [],
      onMessage: () => {},
      onConnected: () => {
        connected++;
      },
      minBackoffMs: 50,
      maxBackoffMs: 100,
      probeIntervalMs: 0,
    });
    conn.start();
    await waitFor(() => connected === 1, 5000);
    expect(a.registrations).toHaveLength(1);
    await close(a);
    await waitFor(() => connected === 2, 5000);
    expect(b.registrations).toHaveLength(1);
    expect(servers.current).toBe(`http://127.0.0.1:${b.port}`);
    // c is learned (default/kubernetes endpoints); a stays configured but is gone; b goes too
    servers.learn([`http://127.0.0.1:${c.port}`]);
    await close(b);
    await waitFor(() => connected === 3, 5000);
    expect(c.registrations).toHaveLength(1);
    await close(c);
  });
});
