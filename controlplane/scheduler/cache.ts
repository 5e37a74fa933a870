// The scheduler's cache of Nodes and Pods, fed by watches and by its own bindings
// ("assume": a pod being bound by us counts on its node before the binding is written and
// before the watch shows it; kube-scheduler's AssumePod/FinishBinding/ForgetPod). Writes
// older than what the cache holds are ignored, so a late watch event cannot undo an
// assumption. NodeInfos are kept incrementally (the pods of each node indexed, a node's
// NodeInfo rebuilt only when one of its pods or the node changed, as UpdateSnapshot's
// generations do), so a cycle costs the nodes it changes, not every pod in the cluster.
import type { KubeObject } from '../../proto/meta.js';
import type { NodeInfo } from './framework.js';
import { newNodeInfo } from './node-info.js';

export function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

function rv(o: KubeObject): number {
  const n = Number(o.metadata.resourceVersion);
  return Number.isFinite(n) ? n : 0;
}

export type Upsert = { stale: true } | { stale: false; prev: KubeObject | undefined };

function nominatedNode(p: KubeObject): string | undefined {
  const node: unknown = p.status?.nominatedNodeName;
  return typeof node === 'string' && node ? node : undefined;
}

export class SchedulerCache {
  private nodes = new Map<string, KubeObject>();
  private pods = new Map<string, KubeObject>();
  /** pods we are binding: key -> the pod with spec.nodeName set, until the binding ends */
  private assumed = new Map<string, KubeObject>();
  /** keys of cached pods with status.nominatedNodeName (the PodNominator's candidates) */
  private nominatedKeys = new Set<string>();
  /** node name -> the pods that count on it (bound, or assumed), by key */
  private byNode = new Map<string, Map<string, KubeObject>>();
  /** node name -> its NodeInfo, dropped when the node or one of its pods changes */
  private infos = new Map<string, NodeInfo>();
  /** node names sorted; undefined when the set of nodes changed */
  private names: string[] | undefined;
  /** the last snapshot; undefined when anything in it changed */
  private last: NodeInfo[] | undefined;

  upsertNode(node: KubeObject): Upsert {
    const name = node.metadata.name!;
    const had = this.nodes.has(name);
    const r = upsert(this.nodes, name, node);
    if (!r.stale) {
      if (!had) this.names = undefined;
      this.dirty(name);
    }
    return r;
  }

  deleteNode(name: string): KubeObject | undefined {
    const prev = this.nodes.get(name);
    if (this.nodes.delete(name)) {
      this.names = undefined;
      this.dirty(name);
    }
    return prev;
  }

  upsertPod(pod: KubeObject): Upsert {
    const key = podKey(pod);
    let r: Upsert = { stale: true };
    this.change(key, () => {
      r = upsert(this.pods, key, pod);
      if (!r.stale) {
        if (nominatedNode(pod)) this.nominatedKeys.add(key);
        else this.nominatedKeys.delete(key);
        // the watch shows it bound (by us or anyone): the assumption is over
        if (pod.spec?.nodeName || pod.metadata.uid !== this.assumed.get(key)?.metadata.uid) this.assumed.delete(key);
      }
    });
    return r;
  }

  /** AssumePod: `pod` (as cached) counts on `node` while its binding is written. */
  assume(pod: KubeObject, node: string): void {
    const key = podKey(pod);
    this.change(key, () => this.assumed.set(key, { ...pod, spec: { ...pod.spec, nodeName: node } }));
  }

  /** The binding ended: `bound` is what it wrote (FinishBinding), or undefined when it failed (ForgetPod). */
  finishBinding(pod: KubeObject, bound?: KubeObject): void {
    const key = podKey(pod);
    if (bound) this.upsertPod(bound);
    if (this.assumed.get(key)?.metadata.uid === pod.metadata.uid) this.change(key, () => this.assumed.delete(key));
  }

  /** a binding of this pod is under way */
  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  deletePod(pod: KubeObject): KubeObject | undefined {
    const key = podKey(pod);
    const prev = this.pods.get(key);
    // a DELETED event for an older incarnation must not remove a re-created pod
    if (prev && prev.metadata.uid && pod.metadata.uid && prev.metadata.uid !== pod.metadata.uid) return undefined;
    this.change(key, () => {
      this.pods.delete(key);
      this.assumed.delete(key);
      this.nominatedKeys.delete(key);
    });
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
    for (const key of this.nominatedKeys) {
      const p = this.pods.get(key);
      const node = p && nominatedNode(p);
      if (!p || !node || p.spec?.nodeName || p.metadata.deletionTimestamp) continue;
      if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      const list = out.get(node);
      if (list) list.push(p);
      else out.set(node, [p]);
    }
    return out;
  }

  /**
   * NodeInfos for one scheduling cycle, sorted by node name. The array and its NodeInfos
   * are never changed afterwards (a change builds new ones): callers must not mutate them.
   */
  snapshot(): NodeInfo[] {
    if (this.last) return this.last;
    this.names ??= [...this.nodes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.last = this.names.map((name) => {
      let info = this.infos.get(name);
      if (!info) {
        info = newNodeInfo(this.nodes.get(name)!, [...(this.byNode.get(name)?.values() ?? [])]);
        this.infos.set(name, info);
      }
      return info;
    });
    return this.last;
  }

  /** the pod that counts for scheduling: as the watch shows it bound, else as we assumed it */
  private effective(key: string): KubeObject | undefined {
    const p = this.pods.get(key);
    if (p?.spec?.nodeName) return p;
    return this.assumed.get(key) ?? p;
  }

  /** runs `fn` and moves the pod between the per-node indexes as its effective node changes */
  private change(key: string, fn: () => void): void {
    const before = this.effective(key);
    fn();
    const after = this.effective(key);
    if (before === after) return;
    const from: unknown = before?.spec?.nodeName;
    const to: unknown = after?.spec?.nodeName;
    if (typeof from === 'string' && from) {
      this.byNode.get(from)?.delete(key);
      this.dirty(from);
    }
    if (typeof to === 'string' && to) {
      let m = this.byNode.get(to);
      if (!m) this.byNode.set(to, (m = new Map()));
      m.set(key, after!);
      this.dirty(to);
    }
  }

  private dirty(node: string): void {
    this.infos.delete(node);
    this.last = undefined;
  }
}

function upsert(map: Map<string, KubeObject>, key: string, obj: KubeObject): Upsert {
  const prev = map.get(key);
  if (prev && prev.metadata.uid === obj.metadata.uid && rv(prev) >= rv(obj) && rv(obj) > 0) return { stale: true };
  map.set(key, obj);
  return { stale: false, prev };
}
