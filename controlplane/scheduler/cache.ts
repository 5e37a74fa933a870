// The scheduler's cache of Nodes and Pods, fed by watches and by its own bindings
// ("assume": a pod bound by us counts on its node before the watch shows it). Writes
// older than what the cache holds are ignored, so a late watch event cannot undo an
// assumption.
import type { KubeObject } from '../../proto/meta.js';
import type { NodeInfo } from './framework.js';
import { buildSnapshot } from './node-info.js';

export function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

function rv(o: KubeObject): number {
  const n = Number(o.metadata.resourceVersion);
  return Number.isFinite(n) ? n : 0;
}

export type Upsert = { stale: true } | { stale: false; prev: KubeObject | undefined };

export class SchedulerCache {
  private nodes = new Map<string, KubeObject>();
  private pods = new Map<string, KubeObject>();

  upsertNode(node: KubeObject): Upsert {
    return upsert(this.nodes, node.metadata.name!, node);
  }

  deleteNode(name: string): KubeObject | undefined {
    const prev = this.nodes.get(name);
    this.nodes.delete(name);
    return prev;
  }

  upsertPod(pod: KubeObject): Upsert {
    return upsert(this.pods, podKey(pod), pod);
  }

  /** Record our own binding (the object bindPod returned). */
  assume(pod: KubeObject): void {
    this.upsertPod(pod);
  }

  deletePod(pod: KubeObject): KubeObject | undefined {
    const key = podKey(pod);
    const prev = this.pods.get(key);
    // a DELETED event for an older incarnation must not remove a re-created pod
    if (prev && prev.metadata.uid && pod.metadata.uid && prev.metadata.uid !== pod.metadata.uid) return undefined;
    this.pods.delete(key);
    return prev;
  }

  getPod(key: string): KubeObject | undefined {
    return this.pods.get(key);
  }

  nodeCount(): number {
    return this.nodes.size;
  }

  /**
   * The PodNominator's view: node name -> pods nominated to it by a preemption
   * (status.nominatedNodeName) that are not bound, not going away and not finished.
   */
  nominated(): Map<string, KubeObject[]> {
    const out = new Map<string, KubeObject[]>();
    for (const p of this.pods.values()) {
      const node: unknown = p.status?.nominatedNodeName;
      if (typeof node !== 'string' || !node || p.spec?.nodeName || p.metadata.deletionTimestamp) continue;
      if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      const list = out.get(node);
      if (list) list.push(p);
      else out.set(node, [p]);
    }
    return out;
  }

  /** NodeInfos for one scheduling cycle, sorted by node name. */
  snapshot(): NodeInfo[] {
    return buildSnapshot(this.nodes.values(), this.pods.values());
  }
}

function upsert(map: Map<string, KubeObject>, key: string, obj: KubeObject): Upsert {
  const prev = map.get(key);
  if (prev && prev.metadata.uid === obj.metadata.uid && rv(prev) >= rv(obj) && rv(obj) > 0) return { stale: true };
  map.set(key, obj);
  return { stale: false, prev };
}
