// The agent's one WebSocket to the server: register, heartbeat, reconnect with
// exponential back-off and jitter, and hand every valid server message to the agent.
// Pods keep running while it is down; on reconnect the server resends the full pod set.
import type { Logger } from 'pino';
import WebSocket from 'ws';
import {
  MAX_MESSAGE_BYTES, PROTOCOL_PATH, PROTOCOL_VERSION, parseServerMessage,
  type AgentMessage, type NodeReport, type ServerMessage,
} from '../../proto/agent-protocol.js';
import { fetchPinnedCa, parseJoinToken } from './ca-pinning.js';

export interface ConnectionOptions {
  serverUrl: string;
  token: string;
  log: Logger;
  heartbeatIntervalMs: number;
  register: () => Promise<NodeReport>;
  conditions: () => NodeReport['conditions'];
  onMessage: (m: ServerMessage) => void;
  onConnected?: () => void;
  onDisconnected?: () => void;
  /** back-off bounds (ms) */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class ServerConnection {
  private ws?: WebSocket;
  private stopped = false;
  private attempt = 0;
  private hbTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
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

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { caHash, secret } = parseJoinToken(this.o.token);
    try {
      if (caHash && !this.ca) this.ca = await fetchPinnedCa(this.o.serverUrl, caHash);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cannot fetch the server CA');
      return this.retry();
    }
    const url = new URL(PROTOCOL_PATH, this.o.serverUrl.replace(/^http/, 'ws'));
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${caHash ? this.o.token : secret}` },
      ca: this.ca,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on('open', async () => {
      try {
        const node = await this.o.register();
        ws.send(JSON.stringify({ type: 'register', protocol: PROTOCOL_VERSION, node } satisfies AgentMessage));
      } catch (err) {
        this.o.log.error({ err }, 'cannot build the register message');
        ws.close();
      }
    });
    ws.on('message', (data) => {
      const r = parseServerMessage(data);
      if (!r.ok) {
        this.o.log.warn({ error: r.error }, 'bad message from server');
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
      if (r.msg.type === 'error') { this.o.log.warn({ message: r.msg.message }, 'server reported an error'); return; }
      try {
        this.o.onMessage(r.msg);
      } catch (err) {
        this.o.log.error({ err }, 'handling server message failed');
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      this.o.log.error({ status: res.statusCode }, res.statusCode === 401 ? 'server refused the join token' : 'server refused the connection');
    });
    ws.on('error', (err) => this.o.log.warn({ err: err.message }, 'connection error'));
    ws.on('close', (code, reason) => {
      const was = this.registered;
      this.registered = false;
      clearInterval(this.hbTimer);
      if (this.ws === ws) this.ws = undefined;
      if (was) { this.o.log.warn({ code, reason: reason.toString() }, 'disconnected from server'); this.o.onDisconnected?.(); }
      this.retry();
    });
  }

  private startHeartbeat(): void {
    clearInterval(this.hbTimer);
    this.hbTimer = setInterval(() => {
      this.send({ type: 'heartbeat', conditions: this.o.conditions() });
    }, this.o.heartbeatIntervalMs);
  }

  /** exponential back-off with full jitter: 0.5 s doubling to 30 s */
  backoffMs(attempt: number): number {
    const min = this.o.minBackoffMs ?? 500;
    const max = this.o.maxBackoffMs ?? 30_000;
    const cap = Math.min(max, min * 2 ** Math.min(attempt, 16));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const delay = this.backoffMs(this.attempt++);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.hbTimer);
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, 'agent stopping');
  }
}
