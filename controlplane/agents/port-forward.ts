// kubectl port-forward through the server (KUBECTL.md §9). Three ways in, all on
// GET/POST …/pods/X/portforward upgrades:
//  - WebSocket with protocol SPDY/3.1+portforward.k8s.io (kubectl ≥1.30 default):
//    binary messages carry a raw SPDY/3.1 byte stream, we are the SPDY server;
//  - Upgrade: SPDY/3.1 (KUBECTL_PORT_FORWARD_WEBSOCKETS=false): SPDY on the raw socket;
//  - WebSocket channel protocol (v4/v5.channel.k8s.io, @kubernetes/client-node) with
//    ?ports=N: data on channel 2i, errors on 2i+1, each channel's first frame the port.
// On SPDY, each forwarded connection is a pair of peer-opened streams (streamtype
// error|data, port, requestid); each pair becomes one 'portforward' agent stream.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { rejectUpgrade } from './upgrade-reject.js';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KubeObject } from '../../proto/meta.js';
import { ApiError, badRequest, notFound } from '../api/errors.js';
import type { TokenAuthenticator } from '../api/auth.js';
import type { ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import type { AgentGateway } from './gateway.js';
import { RstStatus } from './spdy/frames.js';
import { SpdySession, type SpdyStream, type SpdyTransport } from './spdy/session.js';

const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/;
export const SPDY_WS_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
const CHANNEL_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];
/** pause reading the pod when this much is waiting to go out to the client */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** a stream pair that stays incomplete this long is dropped */
const PAIR_TIMEOUT_MS = 30_000;

type AgentStream = NonNullable<ReturnType<AgentGateway['openStream']>>;
const PAUSE = Buffer.from([1]);
const RESUME = Buffer.from([0]);

interface Target {
  pod: KubeObject;
  node: string;
}

export class PortForwardRelay {
  private wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  /** the subprotocol to answer with, per request (ws itself would refuse the SPDY token) */
  private chosen = new WeakMap<IncomingMessage, string>();

  constructor(
    private readonly gw: AgentGateway,
    private readonly storage: ApiStorage,
    private readonly auth: TokenAuthenticator,
    private readonly log: Logger,
    /** several servers: relays the upgrade to the server holding the node's agent; true when it did */
    private readonly relayTo?: (node: string, req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<boolean>,
  ) {
    this.wss.on('headers', (headers, req) => {
      const p = this.chosen.get(req);
      if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
    });
  }

  /** true when the upgrade was a port-forward request (answered here) */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const fail = (code: number, message: string, reason = 'BadRequest') => rejectUpgrade(socket, code, message, reason);
    const target = parseTarget(req.url, PATH);
    if (!target) return false;
    if (!this.auth.authenticate({ headers: req.headers, socket: req.socket })) {
      fail(401, 'Unauthorized', 'Unauthorized');
      return true;
    }
    if ('error' in target) {
      fail(400, target.error);
      return true;
    }
    const { url, m } = target;
    const namespace = m[1]!;
    const name = m[2]!;
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    (async () => {
      const target = await this.target(namespace, name, req, socket, head);
      if (!target) return;
      if (upgrade === 'websocket') {
        if (offered.includes(SPDY_WS_PROTOCOL)) {
          this.chosen.set(req, SPDY_WS_PROTOCOL);
          delete req.headers['sec-websocket-protocol'];
          this.wss.handleUpgrade(req, socket, head, (ws) => this.spdyOverWebSocket(ws, target));
          return;
        }
        const ports = url.searchParams
          .getAll('ports')
          .flatMap((p) => p.split(','))
          .filter(Boolean)
          .map((p) => parsePort(p));
        if (!ports.length) throw badRequest('query parameter "ports" is required');
        const proto = CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
        if (offered.length && !proto)
          throw badRequest(
            `unsupported port-forward protocols ${offered.join(', ')}: use ${SPDY_WS_PROTOCOL} or ${CHANNEL_PROTOCOLS.join(', ')}`,
          );
        if (proto) this.chosen.set(req, proto);
        delete req.headers['sec-websocket-protocol'];
        this.wss.handleUpgrade(req, socket, head, (ws) =>
          this.channels(ws, target, ports, proto === 'v5.channel.k8s.io'),
        );
        return;
      }
      if (upgrade === 'spdy/3.1') {
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n',
        );
        this.spdyOverSocket(socket, head, target);
        return;
      }
      throw badRequest(`port-forward needs an upgrade: WebSocket (protocol ${SPDY_WS_PROTOCOL}) or SPDY/3.1`);
    })().catch((e) => {
      if (e instanceof ApiError) fail(e.code, e.message, e.reason);
      else {
        this.log.error({ err: e }, 'port-forward upgrade failed');
        fail(500, 'internal error', 'InternalError');
      }
    });
    return true;
  }

  /** the pod and its node; undefined when the request was relayed to the server holding the node's agent */
  private async target(
    namespace: string,
    name: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<Target | undefined> {
    const pod = await this.storage.tryGet(findResource('', 'v1', 'pods')!, namespace, name);
    if (!pod) throw notFound('pods', name);
    const phase = pod.status?.phase;
    if (phase !== 'Running')
      throw badRequest(`unable to forward port because pod is not running. Current status=${phase ?? 'Unknown'}`);
    const node = pod.spec?.nodeName;
    if (!node) throw badRequest(`pod ${name} does not have a host assigned`);
    if (!this.gw.connected(node) && (await this.relayTo?.(node, req, socket, head))) return undefined;
    if (!this.gw.connected(node))
      throw new ApiError(
        503,
        'ServiceUnavailable',
        `node "${node}" is not connected: its agent is down or unreachable`,
      );
    return { pod, node };
  }

  private open(t: Target, port: number, sink: Parameters<AgentGateway['openStream']>[2]): AgentStream | undefined {
    const md = t.pod.metadata;
    return this.gw.openStream(
      t.node,
      { pod: { namespace: md.namespace!, name: md.name!, uid: md.uid! }, kind: 'portforward', port },
      sink,
    );
  }

  private errorText(t: Target, port: number, err: string): string {
    return `error forwarding port ${port} to pod ${t.pod.metadata.namespace}/${t.pod.metadata.name}, uid ${t.pod.metadata.uid}: ${err}`;
  }

  // ---- SPDY ----

  private spdyOverWebSocket(ws: WebSocket, t: Target): void {
    const transport: SpdyTransport = {
      write: (b) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(b, { binary: true }, () => {
          if (ws.bufferedAmount < LOW_WATER) session.transportDrained();
        });
      },
      buffered: () => ws.bufferedAmount,
      close: (err) => {
        if (ws.readyState === ws.OPEN) ws.close(err ? 1002 : 1000, err ? err.message.slice(0, 120) : undefined);
        setTimeout(() => ws.terminate(), 2000).unref();
      },
    };
    const session = new SpdySession(transport);
    this.serveSpdy(session, t);
    ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary) => {
      if (!isBinary) {
        session.fail(new Error('text message on a SPDY tunnel'));
        return;
      }
      session.receive(Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw));
    });
    ws.on('close', () => session.transportClosed());
    ws.on('error', (e) => session.transportClosed(e));
  }

  private spdyOverSocket(socket: Duplex, head: Buffer, t: Target): void {
    const transport: SpdyTransport = {
      write: (b) => {
        if (!socket.destroyed && socket.writable) socket.write(b);
      },
      buffered: () => socket.writableLength,
      close: () => {
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      },
    };
    const session = new SpdySession(transport);
    this.serveSpdy(session, t);
    socket.on('drain', () => session.transportDrained());
    socket.on('data', (d: Buffer) => session.receive(d));
    socket.on('close', () => session.transportClosed());
    socket.on('error', (e) => session.transportClosed(e));
    if (head.length) session.receive(head);
  }

  private serveSpdy(session: SpdySession, t: Target): void {
    const md = t.pod.metadata;
    const log = this.log.child({ pod: `${md.namespace}/${md.name}`, portforward: true });
    interface Pair {
      error?: SpdyStream;
      data?: SpdyStream;
      port: string;
      timer: NodeJS.Timeout;
      agent?: AgentStream;
      paused: boolean;
      pending: Buffer[];
      pendingEnd: boolean;
    }
    const pairs = new Map<string, Pair>();
    const active = new Set<Pair>();

    const drop = (key: string, p: Pair) => {
      clearTimeout(p.timer);
      if (pairs.get(key) === p) pairs.delete(key);
    };
    const transportBuffered = () => session.transportBuffered();

    const start = (key: string, p: Pair) => {
      drop(key, p);
      const err = p.error!;
      const data = p.data!;
      const port = Number(p.port);
      const failPair = (msg: string) => {
        err.write(Buffer.from(msg));
        err.end();
        data.end();
      };
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        failPair(`invalid port ${JSON.stringify(p.port)}`);
        return;
      }
      active.add(p);
      let ended = false;
      const agent = this.open(t, port, {
        data: (_ch, d) => {
          data.write(d);
          if (!p.paused && data.queued + transportBuffered() > HIGH_WATER) {
            p.paused = true;
            p.agent?.input(254, PAUSE);
          }
        },
        end: (error) => {
          if (ended) return;
          ended = true;
          active.delete(p);
          if (error) {
            log.info({ port, error }, 'port-forward connection failed');
            err.write(Buffer.from(this.errorText(t, port, error)));
          }
          err.end();
          data.end();
        },
      });
      if (!agent) {
        ended = true;
        active.delete(p);
        failPair(this.errorText(t, port, `node "${t.node}" is not connected`));
        return;
      }
      p.agent = agent;
      for (const b of p.pending) agent.input(0, b);
      p.pending = [];
      if (p.pendingEnd) agent.input(255, Buffer.from([0]));
      data.onclose = (reason) => {
        // the client reset the stream or the session ended: drop the pod connection
        if (reason !== 'done' && !ended) {
          ended = true;
          active.delete(p);
          agent.close();
        }
        if (!err.closed) err.reset(RstStatus.CANCEL);
      };
    };

    session.onStream = (s) => {
      const type = s.headers['streamtype'];
      if (type !== 'error' && type !== 'data') {
        s.reset(RstStatus.PROTOCOL_ERROR);
        return;
      }
      // requestid pairs the two streams; clients before it existed open error then data (id + 2)
      const key = s.headers['requestid'] ?? String(type === 'error' ? s.id : s.id - 2);
      s.reply();
      let p = pairs.get(key);
      if (!p) {
        p = {
          port: s.headers['port'] ?? '',
          paused: false,
          pending: [],
          pendingEnd: false,
          timer: setTimeout(() => {
            drop(key, p!);
            p!.error?.reset(RstStatus.CANCEL);
            p!.data?.reset(RstStatus.CANCEL);
          }, PAIR_TIMEOUT_MS),
        };
        p.timer.unref?.();
        pairs.set(key, p);
      }
      if (p[type]) {
        s.reset(RstStatus.PROTOCOL_ERROR);
        return;
      }
      p[type] = s;
      const pair = p;
      if (type === 'data') {
        s.ondata = (d) => {
          if (pair.agent) pair.agent.input(0, d);
          else pair.pending.push(d);
        };
        s.onend = () => {
          if (pair.agent) pair.agent.input(255, Buffer.from([0]));
          else pair.pendingEnd = true;
        };
      } else {
        s.ondata = () => undefined; // the client never writes on the error stream
      }
      if (p.error && p.data) start(key, p);
    };
    session.onDrain = () => {
      for (const p of active) {
        if (p.paused && (p.data?.queued ?? 0) + transportBuffered() < LOW_WATER) {
          p.paused = false;
          p.agent?.input(254, RESUME);
        }
      }
    };
    session.onClose = (err) => {
      if (err) log.warn({ err: err.message }, 'port-forward session ended with an error');
      for (const [key, p] of pairs) drop(key, p);
      for (const p of active) p.agent?.close();
      active.clear();
    };
  }

  // ---- WebSocket channel protocol (client-node) ----

  private channels(ws: WebSocket, t: Target, ports: number[], v5: boolean): void {
    const agents: (AgentStream | undefined)[] = [];
    let live = ports.length;
    const send = (ch: number, data: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]));
    };
    const done = () => {
      if (--live === 0 && ws.readyState === ws.OPEN) ws.close(1000);
    };
    ports.forEach((port, i) => {
      const portLE = Buffer.alloc(2);
      portLE.writeUInt16LE(port);
      send(2 * i, portLE);
      send(2 * i + 1, portLE);
      let ended = false;
      const a = this.open(t, port, {
        data: (_ch, d) => send(2 * i, d),
        end: (error) => {
          if (ended) return;
          ended = true;
          if (error) send(2 * i + 1, Buffer.from(this.errorText(t, port, error)));
          done();
        },
      });
      if (!a) {
        ended = true;
        send(2 * i + 1, Buffer.from(this.errorText(t, port, `node "${t.node}" is not connected`)));
        done();
      }
      agents[i] = a;
    });
    ws.on('message', (raw: Buffer, isBinary) => {
      const buf = isBinary ? raw : Buffer.from(raw);
      if (!buf.length) return;
      const ch = buf[0]!;
      if (ch === 255 && v5) {
        const target = buf[1];
        if (target !== undefined && target % 2 === 0) agents[target / 2]?.input(255, Buffer.from([0]));
        return;
      }
      if (ch % 2 === 0 && buf.length > 1) agents[ch / 2]?.input(0, buf.subarray(1));
    });
    ws.on('close', () => {
      for (const a of agents) a?.close();
    });
    ws.on('error', () => {
      /* close follows */
    });
  }
}

function parsePort(p: string): number {
  const n = Number(p);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw badRequest(`invalid port ${JSON.stringify(p)}`);
  return n;
}

/**
 * Match an upgrade's request target against a path pattern, never throwing: undefined
 * when the path is not this handler's, an error when it is but does not parse or decode
 * (bad percent-escape), else the URL and the decoded path matches.
 */
export function parseTarget(
  raw: string | undefined,
  pattern: RegExp,
): { url: URL; m: string[] } | { error: string } | undefined {
  const pathOnly = (raw ?? '/').split('?')[0]!;
  if (!pattern.test(pathOnly)) return undefined;
  let url: URL;
  try {
    url = new URL(raw ?? '/', 'http://localhost');
  } catch {
    return { error: 'the request target is not a valid URL' };
  }
  const m = pattern.exec(url.pathname);
  if (!m) return { error: 'the request target is not a valid URL' };
  try {
    const decoded = m.map((s) => decodeURIComponent(s));
    for (const part of url.search.slice(1).split('&')) decodeURIComponent(part.replace(/\+/g, ' '));
    return { url, m: decoded };
  } catch {
    return { error: 'the request target has an invalid percent-escape' };
  }
}
