// One connected agent: registers its Node, renews its Lease on heartbeats, receives
// the pods bound to its node (full set, then deltas) and writes back their status.
// NodeRestriction: everything it writes is checked against the node it registered as;
// it registers only with its node's credential (node-credentials.ts) and only with the
// labels a kubelet may set on itself (proto/node-labels.ts).
// Floods: messages are parsed on arrival and queued (bounded: past it the connection is
// closed with 1008); heartbeats coalesce (one queued at most, processed at most once per
// minHeartbeatGapMs), a pod's queued status is replaced by a newer one, the writes and
// reads it asks for are paced as kubelet's --kube-api-qps, events are rate limited as
// kubelet's --event-qps; a closed connection's backlog is dropped; repeated log lines
// are limited per connection.
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { KubeObject } from '../../proto/meta.js';
import type { NodeCondition, NodeSystemInfo } from '../../proto/api/types.gen.js';
import {
  CloseCode,
  PROTOCOL_VERSION,
  parseAgentMessage,
  wireObject,
  type AgentMessage,
  type GetObject,
  type NodeReport,
  type RequestToken,
  type ServerMessage,
} from '../../proto/agent-protocol.js';
import { forbiddenNodeLabels } from '../../proto/node-labels.js';
import { clone, deepEqual } from '../../proto/canonical.js';
import { resourceDef } from '../controllers/context.js';
import { isVolumeObjectKind, nodeMayReadVolumeObject, volumeObjectResource } from '../storage/node-authorizer.js';
import { ApiError } from '../api/errors.js';
import { rfc3339, type ApiStorage } from '../api/storage.js';
import { recordEvent } from '../events.js';
import { FragmentingSender } from './fragmenting-sender.js';
import { NodeCredentials } from './node-credentials.js';
import { checkReportedPodStatus } from './pod-status-check.js';
import { LogLimiter, TokenBucket } from './rate-limits.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** node status (conditions' lastHeartbeatTime) is rewritten at least this often, as kubelet's nodeStatusReportFrequency */
const NODE_STATUS_REPORT_MS = 60_000;

const def = resourceDef;

export interface SessionLimits {
  /** messages waiting to be processed; past it the connection is closed (1008) */
  maxQueuedMessages: number;
  /** bytes of messages waiting to be processed; past it the connection is closed (1008) */
  maxQueuedBytes: number;
  /** bytes the server has queued for an agent that does not read them; past it, closed (1008) */
  maxBufferedBytes: number;
  /** heartbeats (Lease renewal, node status) are processed at most once per this */
  minHeartbeatGapMs: number;
  /**
   * the node's Lease is renewed by a heartbeat at most this often (0: every heartbeat):
   * kubelet's renewInterval, 0.25 × its 40 s lease, as long as the node grace period
   * allows it (server.ts: a quarter of --node-grace-period, at most 10 s)
   */
  leaseRenewIntervalMs: number;
  /** writes (pod status, pod deletion) and reads (ConfigMaps, Secrets) the agent asks for: kubelet's --kube-api-qps and --kube-api-burst; over it they wait */
  requestsPerSecond: number;
  requestBurst: number;
  /** the agent's events: kubelet's --event-qps and --event-burst; over it they are dropped */
  eventsPerSecond: number;
  eventBurst: number;
  /** WebSocket ping; a connection that did not answer the previous one is dropped */
  pingIntervalMs: number;
  /** another agent asked for this node's name: a ping unanswered this long drops this connection */
  probeTimeoutMs: number;
  /** log lines of one kind per connection per minute (then one count) */
  logLinesPerMinute: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxQueuedMessages: 1000,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxBufferedBytes: 128 * 1024 * 1024,
  minHeartbeatGapMs: 1000,
  leaseRenewIntervalMs: 0,
  requestsPerSecond: 50,
  requestBurst: 100,
  eventsPerSecond: 50,
  eventBurst: 100,
  pingIntervalMs: 20_000,
  probeTimeoutMs: 5000,
  logLinesPerMinute: 10,
};

export interface SessionHooks {
  /** may this session take the node name? false when another live connection has it */
  claim?(s: AgentSession, node: string): Promise<boolean>;
  onRegistered(s: AgentSession): void;
  onClosed(s: AgentSession): void;
  onStreamMessage(s: AgentSession, m: Extract<AgentMessage, { type: 'streamData' | 'streamEnd' }>): void;
  onStats?(s: AgentSession, m: Extract<AgentMessage, { type: 'stats' }>): void;
  /** the agent's answer to a volumeCreate/volumeDelete (volume-host.ts) */
  onVolumeResult?(s: AgentSession, m: Extract<AgentMessage, { type: 'volumeResult' }>): void;
  /** give the node its pod subnet (before it is told it is registered) */
  assignPodCidr?(node: string): Promise<unknown>;
  /** the agent has been told it is registered: send it what it needs (the network state) */
  onReady?(s: AgentSession): void;
}

export interface SessionOptions {
  credentials?: NodeCredentials;
  limits?: Partial<SessionLimits>;
  /** TokenRequest for a pod's projected serviceAccountToken (controlplane/serviceaccount/routes.ts createToken) */
  issueToken?: IssueToken;
  /** the storage the node's writes go through once it is known (the audit log names system:node:<name>) */
  asNode?: (node: string) => ApiStorage;
}

/** sign a token for ServiceAccount namespace/name bound to the pod; throws ApiError */
export type IssueToken = (r: {
  namespace: string;
  serviceAccountName: string;
  podName: string;
  podUid: string;
  audiences?: string[];
  expirationSeconds: number;
}) => Promise<KubeObject>;

interface Queued {
  m: AgentMessage;
  bytes: number;
}

function rawLength(data: RawData): number {
  if (Buffer.isBuffer(data)) return data.length;
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

export class AgentSession {
  node?: string;
  /** told it is registered (its Node written, its credential checked) */
  registered = false;
  private podWatch?: { cancel(): void };
  private closed = false;
  private lastNodeStatusWrite = 0;
  private lastConditions?: unknown;
  private readonly podDef = def('', 'v1', 'pods');
  private readonly nodeDef = def('', 'v1', 'nodes');
  private readonly leaseDef = def('coordination.k8s.io', 'v1', 'leases');
  private readonly configMapDef = def('', 'v1', 'configmaps');
  private readonly secretDef = def('', 'v1', 'secrets');
  private readonly limits: SessionLimits;
  private readonly credentials: NodeCredentials;
  private readonly issueToken?: IssueToken;
  private readonly asNode?: (node: string) => ApiStorage;
  private readonly logs: LogLimiter;
  private readonly events: TokenBucket;
  private readonly requests: TokenBucket;
  /** what goes to the agent: large messages in fragments (the TLS buffers stay small) */
  private readonly out: FragmentingSender;
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private draining = false;
  /** the heartbeat waiting in the queue (a newer one replaces its conditions) */
  private queuedHeartbeat?: Queued;
  /** pod uid -> its status waiting in the queue (a newer one replaces it) */
  private queuedStatus = new Map<string, Queued>();
  private lastHeartbeatAt = 0;
  private lastLeaseRenewAt = 0;
  private deferredHeartbeat?: NodeJS.Timeout;
  /** conditions of heartbeats that arrived within the gap */
  private pendingConditions?: NodeReport['conditions'];
  private registerTimer: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private answeredPing = true;
  /** registers for this node's name waiting to learn whether this connection is alive */
  private probeWaiters: ((dead: boolean) => void)[] = [];
  badMessages = 0;

  constructor(
    private readonly ws: WebSocket,
    private storage: ApiStorage,
    private readonly hooks: SessionHooks,
    private readonly log: Logger,
    private readonly heartbeatIntervalSeconds: number,
    readonly remoteAddress: string,
    opts: SessionOptions = {},
  ) {
    this.out = new FragmentingSender(ws);
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...opts.limits };
    this.credentials = opts.credentials ?? new NodeCredentials(storage);
    this.issueToken = opts.issueToken;
    this.asNode = opts.asNode;
    this.logs = new LogLimiter(log, this.limits.logLinesPerMinute);
    this.events = new TokenBucket(this.limits.eventsPerSecond, this.limits.eventBurst);
    this.requests = new TokenBucket(this.limits.requestsPerSecond, this.limits.requestBurst);
    ws.on('message', (data) => this.receive(data));
    ws.on('close', () => this.close());
    ws.on('error', (err) => this.logs.warn('socket', { err: err.message, node: this.node }, 'agent socket error'));
    ws.on('pong', () => {
      this.answeredPing = true;
      if (this.probeWaiters.length > 0) {
        clearTimeout(this.probeTimer);
        this.probeTimer = undefined;
        this.settleProbes(false);
      }
    });
    this.registerTimer = setTimeout(() => {
      if (!this.node) {
        this.send({ type: 'error', message: 'no register message within 15s' });
        this.close(CloseCode.registerTimeout, 'register timeout');
      }
    }, 15_000);
    this.pingTimer = setInterval(() => {
      if (!this.answeredPing) {
        this.logs.warn('dead', { node: this.node }, 'agent did not answer the last ping: dropping the connection');
        this.terminate();
        return;
      }
      this.answeredPing = false;
      this.ping();
    }, this.limits.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** messages waiting to be processed */
  get backlog(): number {
    return this.queue.length;
  }

  send(m: ServerMessage): void {
    if (!this.closed) this.sendEncoded(JSON.stringify(m));
  }

  /** a message already encoded as JSON (one encoding shared by every agent) */
  sendEncoded(json: string | Buffer): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.out.bufferedBytes > this.limits.maxBufferedBytes) {
      this.logs.warn(
        'unread',
        { node: this.node, buffered: this.out.bufferedBytes },
        'agent does not read its messages: closing the connection',
      );
      this.close(CloseCode.policyViolation, 'not reading messages');
      this.ws.terminate(); // it would not read the close frame either
      return;
    }
    this.out.send(json);
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.registerTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.deferredHeartbeat);
    // what it sent and was not processed yet is dropped with it
    this.queue = [];
    this.queuedBytes = 0;
    this.out.clear();
    this.queuedHeartbeat = undefined;
    this.queuedStatus.clear();
    this.podWatch?.cancel();
    this.settleProbes(true);
    if (code !== undefined) this.ws.close(code, reason);
    this.logs.flush({ node: this.node });
    this.hooks.onClosed(this);
  }

  /**
   * Another register for this node's name (with the node's credential): is this
   * connection alive? It is pinged; one that does not answer within probeTimeoutMs (a
   * machine that crashed or lost its network without closing the socket) is dropped.
   * Resolves true when this connection is gone, false when it answered.
   */
  probe(): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    const answer = new Promise<boolean>((resolve) => this.probeWaiters.push(resolve));
    if (!this.probeTimer) {
      this.ping();
      this.probeTimer = setTimeout(() => {
        this.probeTimer = undefined;
        if (this.probeWaiters.length === 0) return;
        this.logs.warn('dead', { node: this.node }, 'agent did not answer a ping: dropping the connection');
        this.terminate();
      }, this.limits.probeTimeoutMs);
      this.probeTimer.unref();
    }
    return answer;
  }

  private settleProbes(dead: boolean): void {
    for (const w of this.probeWaiters.splice(0)) w(dead);
  }

  private ping(): void {
    try {
      this.ws.ping();
    } catch {
      /* closing */
    }
  }

  private terminate(): void {
    this.ws.terminate();
    this.close();
  }

  private reject(message: string, ref?: string): void {
    this.badMessages++;
    this.logs.warn('rejected', { node: this.node, message: message.slice(0, 1000) }, 'rejected agent message');
    this.send({ type: 'error', message, ref });
  }

  /** refuse the registration: tell the agent why and close with `code` */
  private refuse(code: number, reason: string, message: string): void {
    this.logs.warn('refused', { node: this.node, address: this.remoteAddress, message }, 'agent registration refused');
    this.send({ type: 'error', message });
    this.close(code, reason);
  }

  /** a message arrived: parse it, answer or coalesce it, or queue it (bounded) */
  private receive(data: RawData): void {
    if (this.closed) return;
    const r = parseAgentMessage(data);
    if (!r.ok) {
      // a malformed getObject still gets its answer, so the agent's request fails at once
      const id = getObjectId(data);
      if (id !== undefined && this.registered) {
        this.badMessages++;
        this.logs.warn('rejected', { node: this.node, message: r.error }, 'rejected agent message');
        this.send({ type: 'object', id, error: { code: 400, reason: 'BadRequest', message: r.error } });
        return;
      }
      this.reject(r.error);
      return;
    }
    const m = r.msg;
    const bytes = rawLength(data);
    switch (m.type) {
      // not written anywhere: handled at once, in arrival order
      case 'streamData':
      case 'streamEnd':
        if (!this.registered) this.reject('register first');
        else this.hooks.onStreamMessage(this, m);
        return;
      case 'stats':
        if (!this.registered) this.reject('register first');
        else this.hooks.onStats?.(this, m);
        return;
      case 'volumeResult':
        if (!this.registered) this.reject('register first');
        else this.hooks.onVolumeResult?.(this, m);
        return;
      case 'error':
        this.logs.warn('agent-error', { node: this.node, message: m.message.slice(0, 1000) }, 'agent reported error');
        return;
      // coalesced with the one still waiting
      case 'heartbeat':
        if (this.queuedHeartbeat) {
          this.queuedHeartbeat.m = m;
          return;
        }
        break;
      case 'podStatus': {
        const waiting = this.queuedStatus.get(m.pod.uid);
        if (waiting) {
          this.queuedBytes += bytes - waiting.bytes;
          waiting.m = m;
          waiting.bytes = bytes;
          return;
        }
        break;
      }
      case 'event':
        if (this.registered && !this.events.take()) {
          this.logs.warn(
            'event-rate',
            { node: this.node },
            `agent events over ${this.limits.eventsPerSecond}/s dropped`,
          );
          return;
        }
        break;
    }
    if (this.queue.length >= this.limits.maxQueuedMessages || this.queuedBytes + bytes > this.limits.maxQueuedBytes) {
      this.log.warn(
        { node: this.node, address: this.remoteAddress, queued: this.queue.length, bytes: this.queuedBytes },
        'agent message queue full: closing the connection',
      );
      this.close(CloseCode.policyViolation, 'message queue full');
      return;
    }
    const item: Queued = { m, bytes };
    this.queue.push(item);
    this.queuedBytes += bytes;
    if (m.type === 'heartbeat') this.queuedHeartbeat = item;
    else if (m.type === 'podStatus') this.queuedStatus.set(m.pod.uid, item);
    void this.drain();
  }

  /** handle queued messages one at a time, in order; a failing one never stops the next */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const head = this.queue[0]!.m;
        if (
          this.registered &&
          (head.type === 'podStatus' ||
            head.type === 'podTerminated' ||
            head.type === 'getObject' ||
            head.type === 'requestToken')
        ) {
          // paced as kubelet's API client; statuses arriving meanwhile coalesce into the waiting one
          const wait = this.requests.delay();
          if (wait > 0) {
            await new Promise((r) => setTimeout(r, wait));
            continue;
          }
        }
        const item = this.queue.shift()!;
        this.queuedBytes -= item.bytes;
        if (item === this.queuedHeartbeat) this.queuedHeartbeat = undefined;
        if (item.m.type === 'podStatus' && this.queuedStatus.get(item.m.pod.uid) === item)
          this.queuedStatus.delete(item.m.pod.uid);
        try {
          await this.onMessage(item.m);
        } catch (err) {
          this.logs.error('failed', { err, node: this.node, type: item.m.type }, 'agent message failed');
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async onMessage(m: AgentMessage): Promise<void> {
    if (m.type === 'register') return this.register(m);
    if (!this.registered) return this.reject('register first');
    try {
      switch (m.type) {
        case 'heartbeat':
          return await this.heartbeat(m.conditions);
        case 'podStatus':
          return await this.podStatus(m.pod, m.status);
        case 'podTerminated':
          return await this.podTerminated(m.pod);
        case 'event':
          return await this.event(m);
        case 'getObject':
          return await this.getObject(m);
        case 'requestToken':
          return await this.requestToken(m);
        // handled on arrival
        case 'streamData':
        case 'streamEnd':
        case 'stats':
        case 'error':
        case 'volumeResult':
          return;
      }
    } catch (e) {
      if (e instanceof ApiError) return this.reject(`${m.type}: ${e.message}`);
      throw e;
    }
  }

  private async register(m: Extract<AgentMessage, { type: 'register' }>): Promise<void> {
    const report = m.node;
    if (this.node) return this.reject('already registered');
    if (m.protocol !== PROTOCOL_VERSION)
      return this.refuse(
        CloseCode.protocol,
        'protocol',
        `unsupported protocol ${m.protocol}, server speaks ${PROTOCOL_VERSION}`,
      );
    if (!DNS_SUBDOMAIN.test(report.name))
      return this.refuse(
        CloseCode.badNodeName,
        'bad node name',
        `invalid node name "${report.name}": must be a lowercase RFC 1123 subdomain`,
      );
    const forbidden = forbiddenNodeLabels(report.labels ?? {}, report.name);
    if (forbidden.length > 0)
      return this.refuse(
        CloseCode.forbidden,
        'forbidden labels',
        `node "${report.name}" is not allowed to set the following labels: ${forbidden.join(', ')}`,
      );
    try {
      const verdict = await this.credentials.verify(report.name, m.credential);
      if (!verdict.ok) return this.refuse(CloseCode.credentialRefused, 'node credential refused', verdict.message);
      if (this.closed) return;
      // the node's own credential: the name is its, unless a live connection has it
      if (this.hooks.claim && !(await this.hooks.claim(this, report.name))) {
        return this.refuse(
          CloseCode.nameInUse,
          'node name in use',
          `node "${report.name}" is connected from another agent with its credential: a node name can have only one live connection (two machines with the same name and a copied agent data dir?)`,
        );
      }
      this.node = report.name;
      if (this.asNode) this.storage = this.asNode(report.name);
      if (this.closed) return;
      clearTimeout(this.registerTimer);
      const uid = await this.upsertNode(report);
      await this.credentials.bind(report.name, uid);
      await this.hooks.assignPodCidr?.(report.name);
      await this.renewLease();
      if (this.closed) return;
      this.registered = true;
      this.hooks.onRegistered(this);
      this.send({ type: 'registered', node: report.name, heartbeatIntervalSeconds: this.heartbeatIntervalSeconds });
      await this.startPodSync();
      this.hooks.onReady?.(this);
      this.log.info({ node: this.node, address: this.remoteAddress, firstJoin: verdict.firstJoin }, 'agent registered');
    } catch (e) {
      if (this.closed) return;
      this.log.error({ err: e, node: this.node }, 'agent registration failed');
      this.send({
        type: 'error',
        message: `registration failed: ${e instanceof ApiError ? e.message : 'internal error'}`,
      });
      this.close(CloseCode.internalError, 'registration failed');
    }
  }

  private conditionsWithTimes(
    conds: NodeReport['conditions'],
    old: readonly NodeCondition[] | undefined,
  ): NodeCondition[] {
    const now = rfc3339(new Date());
    return conds.map((c) => {
      const prev = old?.find((o) => o.type === c.type);
      return {
        type: c.type,
        status: c.status,
        lastHeartbeatTime: now,
        lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
        reason: c.reason ?? '',
        message: c.message ?? '',
      };
    });
  }

  /** create or update the node's Node; its uid */
  private async upsertNode(r: NodeReport): Promise<string> {
    const existing = await this.storage.peek(this.nodeDef, undefined, r.name);
    const status = {
      capacity: r.capacity,
      allocatable: r.allocatable,
      nodeInfo: r.nodeInfo as Partial<NodeSystemInfo> as NodeSystemInfo,
      addresses: r.addresses,
      conditions: this.conditionsWithTimes(r.conditions, existing?.status?.conditions),
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    };
    this.lastConditions = r.conditions;
    this.lastNodeStatusWrite = Date.now();
    if (!existing) {
      try {
        const created = await this.storage.create(
          this.nodeDef,
          undefined,
          {
            metadata: {
              name: r.name,
              labels: {
                'kubernetes.io/os': 'linux',
                'kubernetes.io/arch': String(r.nodeInfo.architecture ?? 'amd64'),
                ...r.labels,
                'kubernetes.io/hostname': r.name,
              },
            },
            spec: r.taints?.length ? { taints: r.taints } : {},
            status,
          },
          { fieldValidation: 'Ignore' },
        );
        return created.metadata.uid!;
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      }
    }
    // an existing node keeps its labels and taints (kubelet only adds its own labels)
    await this.storage.guaranteedUpdate(this.nodeDef, undefined, r.name, {}, (cur) => {
      cur.metadata.labels = { ...(cur.metadata.labels ?? {}), ...r.labels, 'kubernetes.io/hostname': r.name };
      return cur;
    });
    const updated = await this.storage.guaranteedUpdate(
      this.nodeDef,
      undefined,
      r.name,
      {},
      (cur) => {
        cur.status = {
          ...(cur.status ?? {}),
          ...status,
          conditions: this.conditionsWithTimes(r.conditions, cur.status?.conditions),
        };
        return cur;
      },
      'status',
    );
    return updated.metadata.uid!;
  }

  private async heartbeat(conditions: NodeReport['conditions'] | undefined): Promise<void> {
    // at most one heartbeat's writes per gap: a later one waits, and those arriving
    // meanwhile are coalesced (the latest conditions win)
    const wait = this.lastHeartbeatAt + this.limits.minHeartbeatGapMs - Date.now();
    if (wait > 0) {
      if (conditions) this.pendingConditions = conditions;
      this.deferredHeartbeat ??= setTimeout(() => {
        this.deferredHeartbeat = undefined;
        if (this.closed || this.queuedHeartbeat) return;
        const item: Queued = { m: { type: 'heartbeat' }, bytes: 0 };
        this.queue.push(item);
        this.queuedHeartbeat = item;
        void this.drain();
      }, wait);
      return;
    }
    this.lastHeartbeatAt = Date.now();
    conditions ??= this.pendingConditions;
    this.pendingConditions = undefined;
    // read-only: from the list cache's shared Node when it has one (no store read, no decoding)
    const node = await this.storage.peek(this.nodeDef, undefined, this.node!);
    if (!node) {
      // deleted (kubectl delete node): this connection is over; the agent registers again
      this.send({ type: 'error', message: `node "${this.node}" was deleted: register again` });
      this.close(CloseCode.nodeDeleted, 'node deleted');
      return;
    }
    // a heartbeat arriving up to half an interval early still renews: renewals stay at the interval, not the next heartbeat after it
    if (Date.now() - this.lastLeaseRenewAt >= this.limits.leaseRenewIntervalMs - this.heartbeatIntervalSeconds * 500)
      await this.renewLease();
    const conds = conditions ?? (this.lastConditions as NodeReport['conditions']);
    const changed = conditions && !deepEqual(conditions, this.lastConditions);
    // the node lifecycle controller may have marked the node Unknown meanwhile: correct it at once
    const stored = node.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
    const reported = conds?.find((c) => c.type === 'Ready')?.status;
    if (!changed && stored === reported && Date.now() - this.lastNodeStatusWrite < NODE_STATUS_REPORT_MS) return;
    this.lastConditions = conds;
    this.lastNodeStatusWrite = Date.now();
    await this.storage.guaranteedUpdate(
      this.nodeDef,
      undefined,
      this.node!,
      {},
      (cur) => {
        cur.status = { ...(cur.status ?? {}), conditions: this.conditionsWithTimes(conds, cur.status?.conditions) };
        return cur;
      },
      'status',
    );
  }

  private async renewLease(): Promise<void> {
    this.lastLeaseRenewAt = Date.now();
    const now = new Date().toISOString().replace('Z', '000Z'); // MicroTime
    const renew = () =>
      this.storage.guaranteedUpdate(this.leaseDef, 'kube-node-lease', this.node!, {}, (cur) => {
        cur.spec = { ...(cur.spec ?? {}), holderIdentity: this.node, leaseDurationSeconds: 40, renewTime: now };
        return cur;
      });
    // renew first (the Lease is missing but once per node): no read before the write
    try {
      await renew();
      return;
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
    try {
      await this.storage.create(
        this.leaseDef,
        'kube-node-lease',
        {
          metadata: { name: this.node, namespace: 'kube-node-lease' },
          spec: { holderIdentity: this.node, leaseDurationSeconds: 40, renewTime: now },
        },
        { fieldValidation: 'Ignore' },
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      await renew(); // created meanwhile
    }
  }

  private async startPodSync(): Promise<void> {
    const sel = `spec.nodeName=${this.node}`;
    const list = await this.storage.list(this.podDef, undefined, { fieldSelector: sel });
    for (const p of list.items) this.notePodRefs(p, true);
    this.send({
      type: 'pods',
      pods: list.items.map((p) => wireObject(Object.assign({ apiVersion: 'v1', kind: 'Pod' }, p))),
    });
    this.podWatch = await this.storage.watch(
      this.podDef,
      undefined,
      { resourceVersion: list.metadata.resourceVersion, fieldSelector: sel },
      (ev) => {
        if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') return;
        const pod = ev.object as KubeObject<'Pod'>;
        this.notePodRefs(pod, ev.type !== 'DELETED');
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.send({ type: 'podUpsert', pod: wireObject(pod) });
        else if (ev.type === 'DELETED')
          this.send({
            type: 'podDelete',
            pod: { namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! },
          });
      },
    );
    if (this.closed) this.podWatch.cancel();
  }

  /**
   * The ConfigMaps and Secrets the node's pods reference, per namespace, kept from the
   * node's pod watch (the node authorizer's graph): a getObject is answered from it, not
   * from a list of the namespace's pods (3000 pods starting listed 3000 pods each). The
   * agent learns of a pod from this same watch, so the graph is never behind it.
   */
  private podRefs = new Map<string, Map<string, number>>();
  private podRefsOf = new Map<string, string[]>();

  private notePodRefs(pod: KubeObject, present: boolean): void {
    const ns = pod.metadata.namespace!;
    const key = `${ns}/${pod.metadata.name}`;
    const refs = present ? podReferencedObjects(pod) : [];
    const old = this.podRefsOf.get(key) ?? [];
    let counts = this.podRefs.get(ns);
    for (const r of old) {
      const n = (counts?.get(r) ?? 1) - 1;
      if (n > 0) counts!.set(r, n);
      else counts?.delete(r);
    }
    if (refs.length) {
      if (!counts) this.podRefs.set(ns, (counts = new Map()));
      for (const r of refs) counts.set(r, (counts.get(r) ?? 0) + 1);
      this.podRefsOf.set(key, refs);
    } else this.podRefsOf.delete(key);
    if (counts && !counts.size) this.podRefs.delete(ns);
  }

  /** the pod as stored, if it is bound to this agent's node (NodeRestriction) */
  private async ownPod(ref: { namespace: string; name: string; uid: string }): Promise<KubeObject | undefined> {
    const pod = await this.storage.tryGet(this.podDef, ref.namespace, ref.name);
    if (!pod || pod.metadata.uid !== ref.uid) return undefined;
    if (pod.spec?.nodeName !== this.node) {
      this.reject(
        `node "${this.node}" may not write pod ${ref.namespace}/${ref.name}: it is bound to "${pod.spec?.nodeName ?? ''}"`,
      );
      return undefined;
    }
    return pod;
  }

  private async podStatus(
    ref: { namespace: string; name: string; uid: string },
    status: Record<string, unknown>,
  ): Promise<void> {
    // checked as the API checks a pods/status body: a malformed status is refused (400) and never stored
    const warnings: string[] = [];
    const reported = checkReportedPodStatus(this.podDef, status, warnings);
    if (warnings.length)
      this.logs.warn(
        'pod-status-fields',
        { node: this.node, pod: `${ref.namespace}/${ref.name}`, warnings: warnings.slice(0, 10) },
        'agent pod status: unknown fields dropped',
      );
    if (!(await this.ownPod(ref))) return;
    await this.storage.guaranteedUpdate(
      this.podDef,
      ref.namespace,
      ref.name,
      {},
      (cur) => {
        if (cur.metadata.uid !== ref.uid) throw new ApiError(409, 'Conflict', 'pod was replaced');
        const next = clone(reported);
        // conditions the control plane owns survive the agent's report
        const agentTypes = new Set((next.conditions ?? []).map((c) => c.type));
        const kept = (cur.status?.conditions ?? []).filter(
          (c) => !agentTypes.has(c.type) && (c.type === 'PodScheduled' || c.type === 'DisruptionTarget'),
        );
        next.conditions = [...kept, ...(next.conditions ?? [])];
        if (cur.status?.qosClass && !next.qosClass) next.qosClass = cur.status.qosClass;
        cur.status = next;
        return cur;
      },
      'status',
    );
  }

  private async podTerminated(ref: { namespace: string; name: string; uid: string }): Promise<void> {
    const pod = await this.ownPod(ref);
    if (!pod || !pod.metadata.deletionTimestamp) return;
    try {
      await this.storage.delete(this.podDef, ref.namespace, ref.name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: ref.uid },
      });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }

  private async event(m: Extract<AgentMessage, { type: 'event' }>): Promise<void> {
    const io = m.involvedObject;
    if (io.kind === 'Pod') {
      if (!io.namespace || !(await this.ownPod({ namespace: io.namespace, name: io.name, uid: io.uid }))) return;
    } else if (!(io.kind === 'Node' && io.name === this.node)) {
      return this.reject(`node "${this.node}" may not record events for ${io.kind} ${io.name}`);
    }
    await recordEvent(this.storage, {
      involvedObject: { apiVersion: 'v1', ...io },
      type: m.eventType,
      reason: m.reason,
      message: m.message,
      source: { component: 'kubelet', host: this.node },
      reportingComponent: 'kubelet',
      reportingInstance: this.node!,
    });
  }

  /**
   * A ConfigMap or Secret for one of the node's pods. Kubernetes' node authorizer: the
   * node may read it only while a pod bound to it (spec.nodeName) in that namespace
   * references it; anything else is Forbidden, whether or not the object exists.
   */
  private async getObject(m: GetObject): Promise<void> {
    const kind = m.kind;
    const resource = isVolumeObjectKind(kind)
      ? volumeObjectResource(kind)
      : kind === 'ConfigMap'
        ? 'configmaps'
        : 'secrets';
    const reply = (r: { object?: KubeObject; error?: { code: number; reason: string; message: string } }) =>
      this.send({
        type: 'object',
        id: m.id,
        ...(r.object ? { object: wireObject(r.object) } : {}),
        ...(r.error ? { error: r.error } : {}),
      });
    try {
      // storage objects: pod -> PersistentVolumeClaim -> PersistentVolume (controlplane/storage/node-authorizer.ts)
      const related = isVolumeObjectKind(kind)
        ? await nodeMayReadVolumeObject(this.storage, this.node ?? '', kind, m.namespace, m.name)
        : this.podRefs.get(m.namespace)?.has(`${kind}/${m.name}`) === true;
      if (!related) {
        this.logs.warn(
          'forbidden-object',
          { node: this.node, kind: m.kind, namespace: m.namespace, name: m.name },
          'agent asked for an object no pod on its node references',
        );
        return reply({
          error: {
            code: 403,
            reason: 'Forbidden',
            message: `${resource} "${m.name}" is forbidden: User "system:node:${this.node}" cannot get resource "${resource}" in API group "" ${kind === 'PersistentVolume' ? 'at the cluster scope' : `in the namespace "${m.namespace}"`}: no relationship found between node '${this.node}' and this object`,
          },
        });
      }
      const objDef = isVolumeObjectKind(kind)
        ? def('', 'v1', resource)
        : kind === 'ConfigMap'
          ? this.configMapDef
          : this.secretDef;
      const obj = await this.storage.tryGet(objDef, kind === 'PersistentVolume' ? undefined : m.namespace, m.name);
      if (!obj)
        return reply({ error: { code: 404, reason: 'NotFound', message: `${resource} "${m.name}" not found` } });
      const { managedFields: _mf, ...metadata } = obj.metadata as KubeObject['metadata'] & { managedFields?: unknown };
      reply({ object: { ...obj, apiVersion: 'v1', kind: m.kind, metadata } as KubeObject });
    } catch (e) {
      if (e instanceof ApiError) return reply({ error: { code: e.code, reason: e.reason, message: e.message } });
      this.logs.error('get-object', { err: e, node: this.node }, 'getObject failed');
      reply({ error: { code: 500, reason: 'InternalError', message: 'internal error reading the object' } });
    }
  }

  /**
   * A token for a projected serviceAccountToken source. The node authorizer's rule: only
   * for a pod bound to this node, with that uid, running as that ServiceAccount.
   */
  private async requestToken(m: RequestToken): Promise<void> {
    const reply = (r: { object?: KubeObject; error?: { code: number; reason: string; message: string } }) =>
      this.send({
        type: 'object',
        id: m.id,
        ...(r.object ? { object: wireObject(r.object) } : {}),
        ...(r.error ? { error: r.error } : {}),
      });
    const forbidden = () =>
      reply({
        error: {
          code: 403,
          reason: 'Forbidden',
          message: `serviceaccounts "${m.serviceAccountName}" is forbidden: User "system:node:${this.node}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${m.namespace}": no relationship found between node '${this.node}' and this object`,
        },
      });
    try {
      if (!this.issueToken)
        return reply({
          error: { code: 503, reason: 'ServiceUnavailable', message: 'the server issues no ServiceAccount tokens' },
        });
      const pod = await this.storage.tryGet(this.podDef, m.namespace, m.podName);
      if (
        !pod ||
        pod.metadata.uid !== m.podUid ||
        pod.spec?.nodeName !== this.node ||
        pod.spec?.serviceAccountName !== m.serviceAccountName
      ) {
        this.logs.warn(
          'forbidden-token',
          { node: this.node, namespace: m.namespace, pod: m.podName, serviceAccount: m.serviceAccountName },
          'agent asked for a token of a pod not on its node',
        );
        return forbidden();
      }
      reply({
        object: await this.issueToken({
          namespace: m.namespace,
          serviceAccountName: m.serviceAccountName,
          podName: m.podName,
          podUid: m.podUid,
          audiences: m.audiences,
          expirationSeconds: m.expirationSeconds,
        }),
      });
    } catch (e) {
      if (e instanceof ApiError) return reply({ error: { code: e.code, reason: e.reason, message: e.message } });
      this.logs.error('request-token', { err: e, node: this.node }, 'requestToken failed');
      reply({ error: { code: 500, reason: 'InternalError', message: 'internal error issuing the token' } });
    }
  }
}

/** the id of a getObject message that failed validation, if it has a usable one */
function getObjectId(data: unknown): string | undefined {
  try {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : undefined;
    if (text === undefined || text.length > 64 * 1024) return undefined;
    const v = JSON.parse(text) as { type?: unknown; id?: unknown };
    return v && v.type === 'getObject' && typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 64
      ? v.id
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a pod references the ConfigMap or Secret by name: as the node authorizer's
 * graph sees it (env valueFrom and envFrom of every container, init and ephemeral ones
 * too, configMap/secret volumes, projected sources, imagePullSecrets, and the secret
 * references of the in-tree volume plugins that have them).
 */
export function podReferences(pod: KubeObject, kind: 'ConfigMap' | 'Secret', name: string): boolean {
  return podReferencedObjects(pod).includes(`${kind}/${name}`);
}

/** every ConfigMap and Secret a pod references, as "ConfigMap/<name>" and "Secret/<name>" (podReferences' rule) */
export function podReferencedObjects(pod: KubeObject): string[] {
  const out = new Set<string>();
  const add = (kind: 'ConfigMap' | 'Secret', name: unknown) => {
    if (typeof name === 'string') out.add(`${kind}/${name}`);
  };
  const spec = pod.spec ?? {};
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    for (const e of c?.env ?? []) {
      add('ConfigMap', e?.valueFrom?.configMapKeyRef?.name);
      add('Secret', e?.valueFrom?.secretKeyRef?.name);
    }
    for (const ef of c?.envFrom ?? []) {
      add('ConfigMap', ef?.configMapRef?.name);
      add('Secret', ef?.secretRef?.name);
    }
  }
  for (const s of spec.imagePullSecrets ?? []) add('Secret', s?.name);
  for (const v of spec.volumes ?? []) {
    if (!v) continue;
    add('ConfigMap', v.configMap?.name);
    add('Secret', v.secret?.secretName);
    for (const src of v.projected?.sources ?? []) {
      add('ConfigMap', src?.configMap?.name);
      add('Secret', src?.secret?.name);
    }
    for (const key of [
      'azureFile',
      'cephfs',
      'cinder',
      'flexVolume',
      'rbd',
      'scaleIO',
      'iscsi',
      'storageos',
      'csi',
    ] as const) {
      const ref = v[key];
      if (!ref) continue;
      add('Secret', ref.secretName);
      add('Secret', ref.secretRef?.name);
      add('Secret', ref.nodePublishSecretRef?.name);
    }
  }
  return [...out];
}
