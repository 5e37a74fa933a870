// Node and pod builders for the scheduler tests.
import type { KubeObject } from '../../proto/meta.js';
import type { NodeInfo } from '../../controlplane/scheduler/framework.js';
import { newNodeInfo } from '../../controlplane/scheduler/node-info.js';

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  unschedulable?: boolean;
  ready?: 'True' | 'False' | 'Unknown' | null;
}

export function node(name: string, o: NodeOpts = {}): KubeObject {
  const capacity = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' };
  const conds = o.ready === null ? [] : [{ type: 'Ready', status: o.ready ?? 'True' }];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity, allocatable: { ...capacity }, conditions: conds },
  };
}

export type Requests = Record<string, string>;

export interface PodOpts {
  requests?: Requests | Requests[];
  init?: Array<Requests & { sidecar?: string }>;
  overhead?: Requests;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: unknown;
  tolerations?: unknown[];
  owner?: string;
  phase?: string;
  namespace?: string;
  ports?: Array<{ hostPort: number; containerPort: number; protocol?: string; hostIP?: string }>;
}

export function pod(name: string, o: PodOpts = {}): KubeObject {
  const reqs = Array.isArray(o.requests) ? o.requests : [o.requests];
  const containers = reqs.map((r, i) => ({
    name: `c${i}`,
    image: 'busybox',
    ...(r ? { resources: { requests: r } } : {}),
    ...(i === 0 && o.ports ? { ports: o.ports } : {}),
  }));
  const initContainers = (o.init ?? []).map(({ sidecar, ...r }, i) => ({
    name: `init${i}`,
    image: 'busybox',
    resources: { requests: r },
    ...(sidecar ? { restartPolicy: 'Always' } : {}),
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: `uid-${name}`,
      ...(o.owner
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: `rs-${o.owner}`, controller: true },
            ],
          }
        : {}),
    },
    spec: {
      containers,
      ...(initContainers.length ? { initContainers } : {}),
      ...(o.overhead ? { overhead: o.overhead } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      schedulerName: 'default-scheduler',
    },
    status: { phase: o.phase ?? 'Pending' },
  };
}

/** A NodeInfo with the given pods bound to it. */
export function info(n: KubeObject, pods: KubeObject[] = []): NodeInfo {
  return newNodeInfo(
    n,
    pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: n.metadata.name } })),
  );
}
