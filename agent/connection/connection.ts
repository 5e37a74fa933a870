// The agent's one WebSocket to the server: register, heartbeat, reconnect with
// exponential back-off and jitter, and hand every valid server message to the agent.
// Pods keep running while it is down; on reconnect the server resends the full pod set.
// The back-off is capped low (5 s) and, while the server's address does not answer,
// a cheap TCP probe each second cuts the wait short the moment it answers again: a
// server back from a restart sees its agents within about a second, long before its
// node lifecycle controller's grace period runs out. With several servers (server-list.ts)
// every new attempt goes to the next one, and the probe tries them all.
// Map of the code base: ARCHITECTURE.md, "The agent protocol".
import { connect as tcpConnect } from 'node:net';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import {
  CloseCode,
  MAX_MESSAGE_BYTES,
  PROTOCOL_PATH,
  PROTOCOL_VERSION,
  parseServerMessage,
  type AgentMessage,
  type GetObject,
  type NodeReport,
  type ObjectReply,
  type RequestToken,
  type ServerMessage,
} from '../../proto/agent-protocol.js';
import { fetchPinnedCa, parseJoinToken } from './ca-pinning.js';
import type { ServerList } from './server-list.js';

export interface ConnectionOptions {
  /** the servers to connect to: the current one first, the next one after each failure */
  servers: ServerList;
  token: string;
  log: Logger;
  heartbeatIntervalMs: number;
  register: () => Promise<NodeReport>;
  conditions: () => NodeReport['conditions'];
  onMessage: (m: ServerMessage) => void;
  onConnected?: () => void;
  onDisconnected?: () => void;
  /** back-off bounds (ms): 1 s doubling to 5 s */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** while waiting after a network failure, probe the server's port this often (ms; 0: never) */
  probeIntervalMs?: number;
  /** the node's credential (node-credential.ts), presented in every register */
  credential?: string;
}

export const DEFAULT_MIN_BACKOFF_MS = 1000;
export const DEFAULT_MAX_BACKOFF_MS = 5000;
export const DEFAULT_PROBE_INTERVAL_MS = 1000;

/** default time an object request waits for its answer */
export const REQUEST_TIMEOUT_MS = 10_000;

export class RequestError extends Error {}

export class ServerConnection {
  private pending = new Map<
    string,
    { resolve: (r: ObjectReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private nextId = 0;
  private ws?: WebSocket;
  private stopped = false;
  private attempt = 0;
  private hbTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  /** the last attempt failed to reach the server at all (not refused by it) */
  private unreachable = false;
  private ca?: string;
  registered = false;

  constructor(private readonly o: ConnectionOptions) {}

  start(): void {
    void this.connect();
  }

  send(m: AgentMessage): boolean {
    if (!this.registered && m.type !== 'register') return false;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(m));
    return true;
  }

  /**
   * Read a ConfigMap or Secret through the server (which answers only for objects the
   * node's pods reference). Resolves with the reply (object or API error); rejects with
   * RequestError when not connected, on time-out, or when the connection drops.
   */
  getObject(
    kind: GetObject['kind'],
    namespace: string,
    name: string,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<ObjectReply> {
    return this.request('o', (id) => ({ type: 'getObject', id, kind, namespace, name }), timeoutMs);
  }

  /**
   * A token for a projected serviceAccountToken source of one of the node's pods (the
   * reply's object is a TokenRequest). Rejects as getObject does.
   */
  requestToken(r: Omit<RequestToken, 'type' | 'id'>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ObjectReply> {
    return this.request('t', (id) => ({ type: 'requestToken', id, ...r }), timeoutMs);
  }

  /** send one request message under a fresh id and wait for the `object` (or `error`) answering it */
  private request(prefix: string, message: (id: string) => AgentMessage, timeoutMs: number): Promise<ObjectReply> {
    return new Promise((resolve, reject) => {
      const id = `${prefix}${(++this.nextId).toString(36)}-${Date.now().toString(36)}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError(`no answer from the server within ${Math.round(timeoutMs / 1000)}s`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      if (!this.send(message(id))) this.settle(id, new RequestError('not connected to the server'));
    });
  }

  private settle(id: string, r: ObjectReply | Error): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (r instanceof Error) p.reject(r);
    else p.resolve(r);
    return true;
  }

  private failPending(why: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, new RequestError(why));
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { caHash, secret } = parseJoinToken(this.o.token);
    try {
      if (caHash && !this.ca) this.ca = await fetchPinnedCa(this.o.servers.current, caHash);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cannot fetch the server CA');
      this.unreachable = isNetworkError(err);
      return this.retry();
    }
    const url = new URL(PROTOCOL_PATH, this.o.servers.current.replace(/^http/, 'ws'));
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${caHash ? this.o.token : secret}` },
      ca: this.ca,
      maxPayload: MAX_MESSAGE_BYTES,
      // short: a server that does not answer within it is retried (and probed) instead
      handshakeTimeout: 5_000,
    });
    this.ws = ws;
    /** the server's last error message on this connection: why it refused us, if it did */
    let lastError = '';
    ws.on('open', async () => {
      this.unreachable = false;
      try {
        const node = await this.o.register();
        ws.send(
          JSON.stringify({
            type: 'register',
            protocol: PROTOCOL_VERSION,
            node,
            ...(this.o.credential ? { credential: this.o.credential } : {}),
          } satisfies AgentMessage),
        );
      } catch (err) {
        this.o.log.error({ err }, 'cannot build the register message');
        ws.close();
      }
    });
    ws.on('message', (data) => {
      const r = parseServerMessage(data);
      if (!r.ok) {
        this.o.log.warn({ error: r.error }, 'bad message from server');
        const id = replyId(data);
        if (id) this.settle(id, new RequestError(`bad answer from the server: ${r.error}`));
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'error', message: r.error }));
        return;
      }
      if (r.msg.type === 'registered') {
        this.registered = true;
        this.attempt = 0;
        this.startHeartbeat();
        this.o.log.info({ node: r.msg.node }, 'registered with server');
        this.o.onConnected?.();
        return;
      }
      if (r.msg.type === 'object') {
        this.settle(r.msg.id, r.msg);
        return;
      }
      if (r.msg.type === 'error') {
        lastError = r.msg.message;
        this.o.log.warn({ message: r.msg.message }, 'server reported an error');
        if (r.msg.ref) this.settle(r.msg.ref, new RequestError(r.msg.message));
        return;
      }
      try {
        this.o.onMessage(r.msg);
      } catch (err) {
        this.o.log.error({ err }, 'handling server message failed');
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      this.unreachable = false;
      this.o.log.error(
        { status: res.statusCode },
        res.statusCode === 401 ? 'server refused the join token' : 'server refused the connection',
      );
    });
    ws.on('error', (err) => {
      this.unreachable = isNetworkError(err);
      this.o.log.warn({ err: err.message }, 'connection error');
    });
    ws.on('close', (code, reason) => {
      const was = this.registered;
      // the server went away (shut down, restarted, link lost) rather than refusing us:
      // probe its port and come back as soon as it answers
      if (code === 1001 || code === 1006 || code === 1012) this.unreachable = this.unreachable || code !== 1006 || was;
      this.registered = false;
      clearInterval(this.hbTimer);
      if (this.ws === ws) this.ws = undefined;
      this.failPending('disconnected from the server');
      if (was) {
        this.o.log.warn({ code, reason: reason.toString() }, 'disconnected from server');
        this.o.onDisconnected?.();
      }
      logRefusal(this.o.log, code, lastError);
      this.retry();
    });
  }

  /**
   * Heartbeats, and a WebSocket ping with each: a connection that has carried nothing
   * (no message, no pong) for three intervals is dead — a cut link leaves TCP open for
   * many minutes — and is dropped so that the reconnect (and its probe) can begin.
   */
  private startHeartbeat(): void {
    clearInterval(this.hbTimer);
    const ws = this.ws;
    if (!ws) return;
    let lastSeen = Date.now();
    const seen = () => {
      lastSeen = Date.now();
    };
    ws.on('pong', seen);
    ws.on('message', seen);
    const every = this.o.heartbeatIntervalMs;
    this.hbTimer = setInterval(() => {
      if (Date.now() - lastSeen > 3 * every) {
        this.o.log.warn({ silentMs: Date.now() - lastSeen }, 'no answer from the server: dropping the connection');
        this.unreachable = true;
        ws.terminate();
        return;
      }
      this.send({ type: 'heartbeat', conditions: this.o.conditions() });
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, every);
  }

  /** exponential back-off with jitter (half fixed, half random): 1 s doubling to 5 s */
  backoffMs(attempt: number): number {
    return backoffDelayMs(
      attempt,
      this.o.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS,
      this.o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    );
  }

  private retry(): void {
    if (this.stopped) return;
    this.clearRetry();
    if (this.o.servers.all().length > 1)
      this.o.log.info({ server: this.o.servers.advance() }, 'trying the next server');
    const delay = this.backoffMs(this.attempt++);
    this.retryTimer = setTimeout(() => {
      this.clearRetry();
      void this.connect();
    }, delay);
    const every = this.o.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    // a server that refused us (bad token, 5xx) keeps its back-off; one that could not be
    // reached is probed, and reconnected to as soon as its port answers
    if (this.unreachable && every > 0 && delay > every) this.probeTimer = setInterval(() => this.probe(), every);
  }

  private clearRetry(): void {
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    this.retryTimer = this.probeTimer = undefined;
  }

  /** one TCP connect to each server's port; the first that answers is connected to now */
  private probe(): void {
    for (const server of this.o.servers.all()) {
      let target: URL;
      try {
        target = new URL(server);
      } catch {
        continue;
      }
      const port = Number(target.port) || (target.protocol === 'https:' || target.protocol === 'wss:' ? 443 : 80);
      const host = target.hostname.replace(/^\[|\]$/g, '');
      const sock = tcpConnect({ host, port });
      sock.setTimeout(Math.max(200, (this.o.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS) - 100), () => sock.destroy());
      sock.on('error', () => sock.destroy());
      sock.on('connect', () => {
        sock.destroy();
        if (this.stopped || !this.probeTimer) return;
        this.o.log.info({ server }, 'server answers again: reconnecting now');
        this.clearRetry();
        this.o.servers.use(server);
        void this.connect();
      });
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.hbTimer);
    this.clearRetry();
    this.ws?.close(1000, 'agent stopping');
    this.failPending('agent stopping');
  }
}

/** back-off for attempt n (0-based): min doubling to max, half of it random */
export function backoffDelayMs(attempt: number, min: number, max: number): number {
  const cap = Math.min(max, min * 2 ** Math.min(attempt, 16));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

/** a failure to reach the server at all, as opposed to an answer refusing us */
function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' &&
      [
        'ECONNREFUSED',
        'ECONNRESET',
        'EHOSTUNREACH',
        'ENETUNREACH',
        'ETIMEDOUT',
        'EPIPE',
        'ENOTFOUND',
        'EAI_AGAIN',
        'ECONNABORTED',
      ].includes(code)) ||
    (err instanceof Error && /timed out|socket hang up|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/i.test(err.message))
  );
}

/** the server refused to register this node: say so plainly, with what to do */
function logRefusal(log: Logger, code: number, message: string): void {
  if (code === CloseCode.credentialRefused)
    log.error(
      { code, message },
      'server refused this node: node credential refused (to re-join a reinstalled machine under its old name, delete the Node first: kubectl delete node <name>)',
    );
  else if (code === CloseCode.nameInUse)
    log.error({ code, message }, 'server refused this node: another agent is connected with the same node name');
  else if (code === CloseCode.forbidden || code === CloseCode.badNodeName || code === CloseCode.protocol)
    log.error({ code, message }, 'server refused this node');
}

/** the id of an `object` answer that failed validation, so its request fails at once */
function replyId(data: WebSocket.RawData): string | undefined {
  try {
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    if (text.length > MAX_MESSAGE_BYTES) return undefined;
    const v = JSON.parse(text) as { type?: unknown; id?: unknown };
    return v && v.type === 'object' && typeof v.id === 'string' ? v.id : undefined;
  } catch {
    return undefined;
  }
}
