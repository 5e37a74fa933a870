// The agents' WebSocket gateway on the API port: join-token auth at the upgrade,
// one AgentSession per node name (a register for a name another live connection holds
// is refused, never a take-over: with the node's credential, that connection is pinged
// and, if it is dead, dropped and the new one registered),
// and the relay of pod streams (logs, exec) between API clients and the node's agent.
// Map of the code base: ARCHITECTURE.md, "The agent protocol".
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { rejectUpgrade } from './upgrade-reject.js';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import {
  MAX_MESSAGE_BYTES,
  PROTOCOL_PATH,
  type AgentMessage,
  type ServerMessage,
  type StatsMsg,
  type VolumeResult,
} from '../../proto/agent-protocol.js';
import type { ApiStorage } from '../api/storage.js';
import { parseJoinToken, secretEquals } from '../security/pki.js';
import { AgentSession, type IssueToken, type SessionLimits } from './agent-session.js';
import { NodeCredentials } from './node-credentials.js';
import type { NetworkPublisher } from './network-publisher.js';
import type { PodCidrAllocator } from './pod-cidr-allocator.js';
import { nodeUser, type ActAs } from '../audit/in-process.js';

export interface StreamSink {
  data(channel: number, data: Buffer): void;
  end(error?: string, exitCode?: number): void;
}

/** volume-host.ts: the agents' answers to volume requests, and agents leaving (their requests fail) */
export interface VolumeListener {
  result(node: string, m: VolumeResult): void;
  disconnected(node: string): void;
}

export interface GatewayOptions {
  storage: ApiStorage;
  joinSecret: string;
  log: Logger;
  heartbeatIntervalSeconds?: number;
  onStats?: (node: string, m: StatsMsg) => void;
  /** pod subnets for joining nodes (--cluster-cidr) */
  podCidrs?: PodCidrAllocator;
  /** the cluster network state every agent gets on registration and on every change */
  network?: NetworkPublisher;
  /** per-connection bounds (queue, heartbeat gap, event rate, pings, log lines) */
  sessionLimits?: Partial<SessionLimits>;
  /** ServiceAccount tokens for pods' projected volumes (agents' requestToken) */
  issueToken?: IssueToken;
  /** each node writes as system:node:<name> in the audit log */
  actAs?: ActAs;
  /** a node's agent registered on this server (agent-locator.ts records it for the other servers) */
  onAgentRegistered?: (node: string) => void;
}

export class AgentGateway {
  private wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private sessions = new Map<string, AgentSession>();
  /** node name -> the connection registering or registered as it */
  private claims = new Map<string, AgentSession>();
  private pending = new Set<AgentSession>();
  private readonly credentials: NodeCredentials;
  private streams = new Map<string, { node: string; sink: StreamSink }>();
  private volumeListeners = new Set<VolumeListener>();

  constructor(private readonly o: GatewayOptions) {
    this.credentials = new NodeCredentials(o.storage);
    o.network?.subscribe((_m, encoded) => {
      for (const s of this.sessions.values()) s.sendEncoded(encoded);
      return this.sessions.size;
    });
  }

  /** true when the request was an agent connection (handled or refused here) */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? '').split('?')[0];
    if (path !== PROTOCOL_PATH) return false;
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (!m || !secretEquals(parseJoinToken(m[1]!).secret, this.o.joinSecret)) {
      this.o.log.warn({ remote: req.socket.remoteAddress }, 'agent refused: bad join token');
      rejectUpgrade(socket, 401, 'invalid join token', 'Unauthorized');
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new AgentSession(
        ws,
        this.o.storage,
        {
          claim: async (s, node) => {
            const holder = this.claims.get(node);
            // the name is taken over only from a connection that turns out dead (no pong)
            if (holder && holder !== s && !(await holder.probe())) return false;
            const now = this.claims.get(node);
            if (now && now !== holder && now !== s) return false; // another register won meanwhile
            this.claims.set(node, s);
            return true;
          },
          onRegistered: (s) => {
            this.pending.delete(s);
            this.sessions.set(s.node!, s);
            this.o.onAgentRegistered?.(s.node!);
          },
          onClosed: (s) => {
            this.pending.delete(s);
            if (s.node && this.claims.get(s.node) === s) this.claims.delete(s.node);
            if (s.node && this.sessions.get(s.node) === s) {
              this.sessions.delete(s.node);
              for (const [id, st] of this.streams)
                if (st.node === s.node) {
                  this.streams.delete(id);
                  st.sink.end('agent disconnected');
                }
              for (const l of this.volumeListeners) l.disconnected(s.node);
            }
          },
          onStreamMessage: (s, msg) => this.onStream(s, msg),
          onStats: (s, msg) => {
            if (s.node) this.o.onStats?.(s.node, msg);
          },
          onVolumeResult: (s, msg) => {
            if (s.node && this.sessions.get(s.node) === s) for (const l of this.volumeListeners) l.result(s.node, msg);
          },
          assignPodCidr: this.o.podCidrs ? (node) => this.o.podCidrs!.ensure(node) : undefined,
          onReady: (s) => {
            const m = this.o.network?.currentEncoded;
            if (m) s.sendEncoded(m);
          },
        },
        this.o.log,
        this.o.heartbeatIntervalSeconds ?? 5,
        req.socket.remoteAddress ?? '',
        {
          credentials: this.credentials,
          limits: this.o.sessionLimits,
          issueToken: this.o.issueToken,
          asNode: this.o.actAs ? (node) => this.o.actAs!(this.o.storage, nodeUser(node), 'kubelet') : undefined,
        },
      );
      this.pending.add(session);
    });
    return true;
  }

  connected(node: string): boolean {
    return this.sessions.has(node);
  }

  get connectedCount(): number {
    return this.sessions.size;
  }

  /** send a volume request to a node's agent; false when the node is not connected */
  sendVolumeRequest(node: string, m: Extract<ServerMessage, { type: 'volumeCreate' | 'volumeDelete' }>): boolean {
    const s = this.sessions.get(node);
    if (!s) return false;
    s.send(m);
    return true;
  }

  /** subscribe to volume answers and agent departures; returns the unsubscribe */
  watchVolumes(l: VolumeListener): () => void {
    this.volumeListeners.add(l);
    return () => {
      this.volumeListeners.delete(l);
    };
  }

  /** open a stream on a node's agent; returns its id, or undefined if the node is not connected */
  openStream(
    node: string,
    open: Omit<Extract<ServerMessage, { type: 'streamOpen' }>, 'type' | 'id'>,
    sink: StreamSink,
  ): { id: string; input(channel: number, data: Buffer): void; close(): void } | undefined {
    const s = this.sessions.get(node);
    if (!s) return undefined;
    const id = randomUUID();
    this.streams.set(id, { node, sink });
    s.send({ type: 'streamOpen', id, ...open });
    return {
      id,
      input: (channel, data) => s.send({ type: 'streamInput', id, channel, data: data.toString('base64') }),
      close: () => {
        if (this.streams.delete(id)) s.send({ type: 'streamClose', id });
      },
    };
  }

  private onStream(s: AgentSession, m: Extract<AgentMessage, { type: 'streamData' | 'streamEnd' }>): void {
    const st = this.streams.get(m.id);
    if (!st || st.node !== s.node) return; // unknown or another node's stream: ignore
    if (m.type === 'streamData') st.sink.data(m.channel, Buffer.from(m.data, 'base64'));
    else {
      this.streams.delete(m.id);
      st.sink.end(m.error, m.exitCode);
    }
  }

  close(): void {
    for (const s of [...this.sessions.values(), ...this.pending]) s.close(1001, 'server shutting down');
    this.wss.close();
  }
}
