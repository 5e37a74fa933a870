// One connected agent: registers its Node, renews its Lease on heartbeats, receives
// the pods bound to its node (full set, then deltas) and writes back their status.
// NodeRestriction: everything it writes is checked against the node it registered as.
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { KubeObject } from '../../proto/meta.js';
import {
  PROTOCOL_VERSION, parseAgentMessage, type AgentMessage, type GetObject, type NodeReport, type ServerMessage,
} from '../../proto/agent-protocol.js';
import { clone, deepEqual } from '../../proto/canonical.js';
import { findResource } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';
import { ApiError } from '../api/errors.js';
import { rfc3339, type ApiStorage } from '../api/storage.js';
import { recordEvent } from '../events.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** node status (conditions' lastHeartbeatTime) is rewritten at least this often, as kubelet's nodeStatusReportFrequency */
const NODE_STATUS_REPORT_MS = 60_000;

function def(group: string, version: string, plural: string): ResourceDef {
  const d = findResource(group, version, plural);
  if (!d) throw new Error(`resource ${plural} missing`);
  return d;
}

export interface SessionHooks {
  onRegistered(s: AgentSession): void;
  onClosed(s: AgentSession): void;
  onStreamMessage(s: AgentSession, m: Extract<AgentMessage, { type: 'streamData' | 'streamEnd' }>): void;
  onStats?(s: AgentSession, m: Extract<AgentMessage, { type: 'stats' }>): void;
  /** give the node its pod subnet (before it is told it is registered) */
  assignPodCidr?(node: string): Promise<unknown>;
  /** the agent has been told it is registered: send it what it needs (the network state) */
  onReady?(s: AgentSession): void;
}

export class AgentSession {
  node?: string;
  private podWatch?: { cancel(): void };
  private closed = false;
  private lastNodeStatusWrite = 0;
  private lastConditions?: unknown;
  private readonly podDef = def('', 'v1', 'pods');
  private readonly nodeDef = def('', 'v1', 'nodes');
  private readonly leaseDef = def('coordination.k8s.io', 'v1', 'leases');
  private readonly configMapDef = def('', 'v1', 'configmaps');
  private readonly secretDef = def('', 'v1', 'secrets');
  private queue: Promise<void> = Promise.resolve();
  private registerTimer: NodeJS.Timeout;
  badMessages = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly storage: ApiStorage,
    private readonly hooks: SessionHooks,
    private readonly log: Logger,
    private readonly heartbeatIntervalSeconds: number,
    readonly remoteAddress: string,
  ) {
    ws.on('message', (data) => {
      // handle messages one at a time, in order; a failing one never stops the next
      this.queue = this.queue.then(() => this.onMessage(data)).catch((err) => this.log.error({ err, node: this.node }, 'agent message failed'));
    });
    ws.on('close', () => this.close());
    ws.on('error', (err) => this.log.warn({ err: err.message, node: this.node }, 'agent socket error'));
    this.registerTimer = setTimeout(() => {
      if (!this.node) { this.send({ type: 'error', message: 'no register message within 15s' }); ws.close(4000, 'register timeout'); }
    }, 15_000);
  }

  send(m: ServerMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(m));
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.registerTimer);
    this.podWatch?.cancel();
    if (code !== undefined) this.ws.close(code, reason);
    this.hooks.onClosed(this);
  }

  private reject(message: string, ref?: string): void {
    this.badMessages++;
    this.log.warn({ node: this.node, message }, 'rejected agent message');
    this.send({ type: 'error', message, ref });
  }

  private async onMessage(data: unknown): Promise<void> {
    const r = parseAgentMessage(data);
    if (!r.ok) {
      // a malformed getObject still gets its answer, so the agent's request fails at once
      const id = getObjectId(data);
      if (id !== undefined && this.node) {
        this.badMessages++;
        this.log.warn({ node: this.node, message: r.error }, 'rejected agent message');
        return this.send({ type: 'object', id, error: { code: 400, reason: 'BadRequest', message: r.error } });
      }
      return this.reject(r.error);
    }
    const m = r.msg;
    if (m.type !== 'register' && !this.node) return this.reject('register first');
    try {
      switch (m.type) {
        case 'register': return await this.register(m.node, m.protocol);
        case 'heartbeat': return await this.heartbeat(m.conditions);
        case 'podStatus': return await this.podStatus(m.pod, m.status);
        case 'podTerminated': return await this.podTerminated(m.pod);
        case 'event': return await this.event(m);
        case 'streamData':
        case 'streamEnd': return this.hooks.onStreamMessage(this, m);
        case 'stats': this.hooks.onStats?.(this, m); return;
        case 'error': this.log.warn({ node: this.node, message: m.message }, 'agent reported error'); return;
        case 'getObject': return await this.getObject(m);
      }
    } catch (e) {
      if (e instanceof ApiError) return this.reject(`${m.type}: ${e.message}`);
      throw e;
    }
  }

  private async register(report: NodeReport, protocol: number): Promise<void> {
    if (this.node) return this.reject('already registered');
    if (protocol !== PROTOCOL_VERSION) { this.reject(`unsupported protocol ${protocol}, server speaks ${PROTOCOL_VERSION}`); this.close(4002, 'protocol'); return; }
    if (!DNS_SUBDOMAIN.test(report.name)) { this.reject(`invalid node name "${report.name}": must be a lowercase RFC 1123 subdomain`); this.close(4001, 'bad node name'); return; }
    this.node = report.name;
    clearTimeout(this.registerTimer);
    await this.upsertNode(report);
    await this.hooks.assignPodCidr?.(report.name);
    await this.renewLease();
    this.hooks.onRegistered(this);
    this.send({ type: 'registered', node: report.name, heartbeatIntervalSeconds: this.heartbeatIntervalSeconds });
    await this.startPodSync();
    this.hooks.onReady?.(this);
    this.log.info({ node: this.node, address: this.remoteAddress }, 'agent registered');
  }

  private conditionsWithTimes(conds: NodeReport['conditions'], old: any[] | undefined): unknown[] {
    const now = rfc3339(new Date());
    return conds.map((c) => {
      const prev = old?.find((o) => o.type === c.type);
      return {
        type: c.type, status: c.status, lastHeartbeatTime: now,
        lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
        reason: c.reason ?? '', message: c.message ?? '',
      };
    });
  }

  private async upsertNode(r: NodeReport): Promise<void> {
    const existing = await this.storage.tryGet(this.nodeDef, undefined, r.name);
    const status = {
      capacity: r.capacity, allocatable: r.allocatable, nodeInfo: r.nodeInfo, addresses: r.addresses,
      conditions: this.conditionsWithTimes(r.conditions, existing?.status?.conditions),
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    };
    this.lastConditions = r.conditions;
    this.lastNodeStatusWrite = Date.now();
    if (!existing) {
      try {
        await this.storage.create(this.nodeDef, undefined, {
          metadata: { name: r.name, labels: { 'kubernetes.io/hostname': r.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': String(r.nodeInfo.architecture ?? 'amd64'), ...r.labels } },
          spec: r.taints?.length ? { taints: r.taints } : {},
          status,
        }, { fieldValidation: 'Ignore' });
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      }
    }
    // an existing node keeps its labels and taints (kubelet only adds its own labels)
    await this.storage.guaranteedUpdate(this.nodeDef, undefined, r.name, {}, (cur) => {
      cur.metadata.labels = { ...(cur.metadata.labels ?? {}), 'kubernetes.io/hostname': r.name, ...r.labels };
      return cur;
    });
    await this.storage.guaranteedUpdate(this.nodeDef, undefined, r.name, {}, (cur) => {
      cur.status = { ...(cur.status ?? {}), ...status, conditions: this.conditionsWithTimes(r.conditions, cur.status?.conditions) };
      return cur;
    }, 'status');
  }

  private async heartbeat(conditions: NodeReport['conditions'] | undefined): Promise<void> {
    await this.renewLease();
    const conds = conditions ?? (this.lastConditions as NodeReport['conditions']);
    const changed = conditions && !deepEqual(conditions, this.lastConditions);
    // the node lifecycle controller may have marked the node Unknown meanwhile: correct it at once
    const stored = (await this.storage.tryGet(this.nodeDef, undefined, this.node!))?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
    const reported = conds?.find((c) => c.type === 'Ready')?.status;
    if (!changed && stored === reported && Date.now() - this.lastNodeStatusWrite < NODE_STATUS_REPORT_MS) return;
    this.lastConditions = conds;
    this.lastNodeStatusWrite = Date.now();
    await this.storage.guaranteedUpdate(this.nodeDef, undefined, this.node!, {}, (cur) => {
      cur.status = { ...(cur.status ?? {}), conditions: this.conditionsWithTimes(conds, cur.status?.conditions) };
      return cur;
    }, 'status');
  }

  private async renewLease(): Promise<void> {
    const now = new Date().toISOString().replace('Z', '000Z'); // MicroTime
    const lease = await this.storage.tryGet(this.leaseDef, 'kube-node-lease', this.node!);
    if (!lease) {
      try {
        await this.storage.create(this.leaseDef, 'kube-node-lease', {
          metadata: { name: this.node, namespace: 'kube-node-lease' },
          spec: { holderIdentity: this.node, leaseDurationSeconds: 40, renewTime: now },
        }, { fieldValidation: 'Ignore' });
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      }
    }
    await this.storage.guaranteedUpdate(this.leaseDef, 'kube-node-lease', this.node!, {}, (cur) => {
      cur.spec = { ...(cur.spec ?? {}), holderIdentity: this.node, leaseDurationSeconds: 40, renewTime: now };
      return cur;
    });
  }

  private async startPodSync(): Promise<void> {
    const sel = `spec.nodeName=${this.node}`;
    const list = await this.storage.list(this.podDef, undefined, { fieldSelector: sel });
    this.send({ type: 'pods', pods: list.items.map((p) => ({ apiVersion: 'v1', kind: 'Pod', ...p })) as never });
    this.podWatch = await this.storage.watch(this.podDef, undefined, { resourceVersion: list.metadata.resourceVersion, fieldSelector: sel }, (ev) => {
      const pod = ev.object as KubeObject;
      if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.send({ type: 'podUpsert', pod: pod as never });
      else if (ev.type === 'DELETED') this.send({ type: 'podDelete', pod: { namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! } });
    });
    if (this.closed) this.podWatch.cancel();
  }

  /** the pod as stored, if it is bound to this agent's node (NodeRestriction) */
  private async ownPod(ref: { namespace: string; name: string; uid: string }): Promise<KubeObject | undefined> {
    const pod = await this.storage.tryGet(this.podDef, ref.namespace, ref.name);
    if (!pod || pod.metadata.uid !== ref.uid) return undefined;
    if (pod.spec?.nodeName !== this.node) {
      this.reject(`node "${this.node}" may not write pod ${ref.namespace}/${ref.name}: it is bound to "${pod.spec?.nodeName ?? ''}"`);
      return undefined;
    }
    return pod;
  }

  private async podStatus(ref: { namespace: string; name: string; uid: string }, status: Record<string, unknown>): Promise<void> {
    if (!(await this.ownPod(ref))) return;
    await this.storage.guaranteedUpdate(this.podDef, ref.namespace, ref.name, {}, (cur) => {
      if (cur.metadata.uid !== ref.uid) throw new ApiError(409, 'Conflict', 'pod was replaced');
      const next = clone(status) as any;
      // conditions the control plane owns survive the agent's report
      const agentTypes = new Set((next.conditions ?? []).map((c: { type: string }) => c.type));
      const kept = (cur.status?.conditions ?? []).filter((c: { type: string }) => !agentTypes.has(c.type) && (c.type === 'PodScheduled' || c.type === 'DisruptionTarget'));
      next.conditions = [...kept, ...(next.conditions ?? [])];
      if (cur.status?.qosClass && !next.qosClass) next.qosClass = cur.status.qosClass;
      cur.status = next;
      return cur;
    }, 'status');
  }

  private async podTerminated(ref: { namespace: string; name: string; uid: string }): Promise<void> {
    const pod = await this.ownPod(ref);
    if (!pod || !pod.metadata.deletionTimestamp) return;
    try {
      await this.storage.delete(this.podDef, ref.namespace, ref.name, { gracePeriodSeconds: 0, preconditions: { uid: ref.uid } });
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
      type: m.eventType, reason: m.reason, message: m.message,
      source: { component: 'kubelet', host: this.node }, reportingComponent: 'kubelet', reportingInstance: this.node!,
    });
  }

  /**
   * A ConfigMap or Secret for one of the node's pods. Kubernetes' node authorizer: the
   * node may read it only while a pod bound to it (spec.nodeName) in that namespace
   * references it; anything else is Forbidden, whether or not the object exists.
   */
  private async getObject(m: GetObject): Promise<void> {
    const resource = m.kind === 'ConfigMap' ? 'configmaps' : 'secrets';
    const reply = (r: { object?: KubeObject; error?: { code: number; reason: string; message: string } }) =>
      this.send({ type: 'object', id: m.id, ...(r.object ? { object: r.object as never } : {}), ...(r.error ? { error: r.error } : {}) });
    try {
      const pods = await this.storage.list(this.podDef, m.namespace, { fieldSelector: `spec.nodeName=${this.node}` });
      const related = pods.items.some((p) => p.spec?.nodeName === this.node && podReferences(p, m.kind, m.name));
      if (!related) {
        this.log.warn({ node: this.node, kind: m.kind, namespace: m.namespace, name: m.name }, 'agent asked for an object no pod on its node references');
        return reply({ error: {
          code: 403, reason: 'Forbidden',
          message: `${resource} "${m.name}" is forbidden: User "system:node:${this.node}" cannot get resource "${resource}" in API group "" in the namespace "${m.namespace}": no relationship found between node '${this.node}' and this object`,
        } });
      }
      const obj = await this.storage.tryGet(m.kind === 'ConfigMap' ? this.configMapDef : this.secretDef, m.namespace, m.name);
      if (!obj) return reply({ error: { code: 404, reason: 'NotFound', message: `${resource} "${m.name}" not found` } });
      const { managedFields: _mf, ...metadata } = obj.metadata as KubeObject['metadata'] & { managedFields?: unknown };
      reply({ object: { ...obj, apiVersion: 'v1', kind: m.kind, metadata } as KubeObject });
    } catch (e) {
      if (e instanceof ApiError) return reply({ error: { code: e.code, reason: e.reason, message: e.message } });
      this.log.error({ err: e, node: this.node }, 'getObject failed');
      reply({ error: { code: 500, reason: 'InternalError', message: 'internal error reading the object' } });
    }
  }
}

/** the id of a getObject message that failed validation, if it has a usable one */
function getObjectId(data: unknown): string | undefined {
  try {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : undefined;
    if (text === undefined || text.length > 64 * 1024) return undefined;
    const v = JSON.parse(text) as { type?: unknown; id?: unknown };
    return v && v.type === 'getObject' && typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 64 ? v.id : undefined;
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
  const spec = pod.spec ?? {};
  const secret = kind === 'Secret';
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    for (const e of c?.env ?? []) {
      const vf = e?.valueFrom;
      if (!vf) continue;
      if (!secret && vf.configMapKeyRef?.name === name) return true;
      if (secret && vf.secretKeyRef?.name === name) return true;
    }
    for (const ef of c?.envFrom ?? []) {
      if (!secret && ef?.configMapRef?.name === name) return true;
      if (secret && ef?.secretRef?.name === name) return true;
    }
  }
  if (secret && (spec.imagePullSecrets ?? []).some((s: { name?: string }) => s?.name === name)) return true;
  for (const v of spec.volumes ?? []) {
    if (!v) continue;
    if (!secret && v.configMap?.name === name) return true;
    if (secret && v.secret?.secretName === name) return true;
    for (const src of v.projected?.sources ?? []) {
      if (!secret && src?.configMap?.name === name) return true;
      if (secret && src?.secret?.name === name) return true;
    }
    if (secret) {
      for (const key of ['azureFile', 'cephfs', 'cinder', 'flexVolume', 'rbd', 'scaleIO', 'iscsi', 'storageos', 'csi'] as const) {
        const ref = v[key];
        if (!ref) continue;
        if (ref.secretName === name || ref.secretRef?.name === name || ref.nodePublishSecretRef?.name === name) return true;
      }
    }
  }
  return false;
}
