// The agent gateway in process: a plain HTTP server whose upgrades go to AgentGateway,
// over the real API write path (SQLite in memory), and agents as real WebSocket
// clients speaking the protocol by hand (so a test can forge what a hostile agent sends).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import WebSocket from 'ws';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { AgentGateway } from '../../controlplane/agents/gateway.js';
import type { IssueToken, SessionLimits } from '../../controlplane/agents/agent-session.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { ResourceDef } from '../../controlplane/resources/types.js';

export const JOIN_SECRET = 'test-join-secret';

export function resource(group: string, version: string, plural: string): ResourceDef {
  return findResource(group, version, plural)!;
}
export const nodeDef = resource('', 'v1', 'nodes');
export const secretDef = resource('', 'v1', 'secrets');
export const leaseDef = resource('coordination.k8s.io', 'v1', 'leases');
export const podDef = resource('', 'v1', 'pods');
export const eventDef = resource('', 'v1', 'events');

export interface GatewayHarness {
  store: SqliteStore;
  storage: ApiStorage;
  gateway: AgentGateway;
  port: number;
  /** every log line the gateway wrote (JSON) */
  logLines: string[];
  stop(): Promise<void>;
}

/** `wrap` may put a proxy (slow or counting) between the gateway and the storage */
export async function startGateway(
  opts: { limits?: Partial<SessionLimits>; wrap?: (s: ApiStorage) => ApiStorage; issueToken?: IssueToken } = {},
): Promise<GatewayHarness> {
  const store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const gateway = new AgentGateway({
    storage: opts.wrap ? opts.wrap(storage) : storage,
    joinSecret: JOIN_SECRET,
    log,
    heartbeatIntervalSeconds: 5,
    sessionLimits: opts.limits,
    issueToken: opts.issueToken,
  });
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (!gateway.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    store,
    storage,
    gateway,
    port,
    logLines,
    async stop() {
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}

export interface Msg {
  type: string;
  message?: string;
  [k: string]: unknown;
}

export interface TestAgent {
  ws: WebSocket;
  /** the next message from the server (network state skipped) */
  next(): Promise<Msg>;
  /** resolves with the close code and reason */
  closed: Promise<{ code: number; reason: string }>;
  send(m: unknown): void;
  close(): Promise<void>;
}

export async function connectAgent(port: number, opts: { autoPong?: boolean } = {}): Promise<TestAgent> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/agent/v1/connect`, {
    headers: { Authorization: `Bearer ${JOIN_SECRET}` },
    autoPong: opts.autoPong ?? true,
  });
  const queue: Msg[] = [];
  const waiters: ((m: Msg) => void)[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Msg;
    if (m.type === 'network') return;
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    closed,
    next: () =>
      new Promise<Msg>((resolve, reject) => {
        const m = queue.shift();
        if (m) return resolve(m);
        const t = setTimeout(() => reject(new Error('no message from the server within 5s')), 5000);
        waiters.push((x) => {
          clearTimeout(t);
          resolve(x);
        });
      }),
    send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

export function nodeReport(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    capacity: { cpu: '2', memory: '2Gi', pods: '110' },
    allocatable: { cpu: '2', memory: '2Gi', pods: '110' },
    nodeInfo: { architecture: 'amd64' },
    addresses: [{ type: 'InternalIP', address: '10.0.0.9' }],
    conditions: [{ type: 'Ready', status: 'True' }],
    ...extra,
  };
}

export function registerMsg(
  name: string,
  credential: string | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'register',
    protocol: 1,
    node: nodeReport(name, extra),
    ...(credential !== undefined ? { credential } : {}),
  };
}

/** a fresh credential as the agent makes them */
export function newCredential(): string {
  return Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString('base64url');
}

/** connect and register; the `registered` message (or the refusal: error then close) */
export async function register(
  port: number,
  name: string,
  credential: string | undefined,
  extra: Record<string, unknown> = {},
  opts: { autoPong?: boolean } = {},
): Promise<{ agent: TestAgent; first: Msg }> {
  const agent = await connectAgent(port, opts);
  agent.send(registerMsg(name, credential, extra));
  return { agent, first: await agent.next() };
}

export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
