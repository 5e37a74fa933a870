// Builds the scheduler's NodeInfo snapshot from cached Nodes and the pods bound to them
// (kube-scheduler's cache.UpdateSnapshot, without the incremental generations).
import type { KubeObject } from '../../proto/meta.js';
import type { NodeInfo } from './framework.js';
import { findCondition } from '../../proto/api/conditions.js';
import { addInto, DEFAULT_MAX_PODS, isTerminal, podRequests, toResourceList } from './resources.js';

/** the status of a node's Ready condition: True, False, Unknown, or undefined when it has none */
function readyStatus(node: { status?: { conditions?: unknown } }): string | undefined {
  return findCondition(node.status?.conditions, 'Ready')?.status;
}

export function newNodeInfo(node: KubeObject, pods: readonly KubeObject[] = []): NodeInfo {
  const allocatable = toResourceList(node.status?.allocatable ?? node.status?.capacity);
  if (node.status?.allocatable?.pods === undefined && node.status?.capacity?.pods === undefined)
    allocatable.pods = DEFAULT_MAX_PODS;
  const info: NodeInfo = {
    name: node.metadata.name!,
    node,
    pods: [],
    requested: {},
    nonZeroRequested: { cpu: 0, memory: 0 },
    allocatable,
    ready: readyStatus(node),
  };
  for (const p of pods) addPod(info, p);
  return info;
}

/** Adds a pod's requests to the node (terminal pods hold nothing and are skipped). */
export function addPod(info: NodeInfo, pod: KubeObject): void {
  if (isTerminal(pod)) return;
  info.pods.push(pod);
  addInto(info.requested, podRequests(pod));
  addInto(info.nonZeroRequested, podRequests(pod, true));
}

/** One NodeInfo per node, with the pods whose spec.nodeName names it. */
export function buildSnapshot(nodes: Iterable<KubeObject>, pods: Iterable<KubeObject>): NodeInfo[] {
  const byNode = new Map<string, NodeInfo>();
  for (const n of nodes) byNode.set(n.metadata.name!, newNodeInfo(n));
  for (const p of pods) {
    const name = p.spec?.nodeName;
    if (!name) continue;
    const info = byNode.get(name);
    if (info) addPod(info, p);
  }
  return [...byNode.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
