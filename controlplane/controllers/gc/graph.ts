// The garbage collector's owner -> dependents graph (graph_builder.go's uidToNode),
// fed by the informers of every kind. Nodes keep only what the collector decides on;
// the dependents index is keyed by owner uid, so owners not (yet) observed are "virtual".
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import { canonicalJson } from '../../../proto/canonical.js';
import type { ResourceDef } from '../../resources/types.js';

export interface GraphNode {
  uid: string;
  def: ResourceDef;
  namespace?: string;
  name: string;
  owners: OwnerReference[];
  deletionTimestamp?: string;
  finalizers: string[];
}

export interface UpsertResult {
  node: GraphNode;
  /** undefined when the object was not in the graph before */
  old?: GraphNode;
  ownersChanged: boolean;
  /** deletionTimestamp or finalizers changed */
  deletionChanged: boolean;
}

export class DependencyGraph {
  private readonly nodes = new Map<string, GraphNode>();
  private readonly dependents = new Map<string, Set<string>>();

  get size(): number {
    return this.nodes.size;
  }

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  all(): IterableIterator<GraphNode> {
    return this.nodes.values();
  }

  /** dependents currently referencing `ownerUid` (observed objects only) */
  dependentsOf(ownerUid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const uid of this.dependents.get(ownerUid) ?? []) {
      const n = this.nodes.get(uid);
      if (n) out.push(n);
    }
    return out;
  }

  hasDependents(ownerUid: string): boolean {
    return (this.dependents.get(ownerUid)?.size ?? 0) > 0;
  }

  upsert(def: ResourceDef, obj: KubeObject): UpsertResult | undefined {
    const m = obj.metadata;
    if (!m.uid || !m.name) return undefined;
    const node: GraphNode = {
      uid: m.uid,
      def,
      namespace: m.namespace,
      name: m.name,
      owners: Array.isArray(m.ownerReferences) ? m.ownerReferences.filter((r) => r && typeof r.uid === 'string') : [],
      deletionTimestamp: m.deletionTimestamp,
      finalizers: Array.isArray(m.finalizers) ? [...m.finalizers] : [],
    };
    const old = this.nodes.get(node.uid);
    this.nodes.set(node.uid, node);
    const ownersChanged = !old || canonicalJson(old.owners) !== canonicalJson(node.owners);
    if (ownersChanged) {
      for (const r of old?.owners ?? []) this.unlink(r.uid, node.uid);
      for (const r of node.owners) this.link(r.uid, node.uid);
    }
    const deletionChanged =
      !old ||
      old.deletionTimestamp !== node.deletionTimestamp ||
      canonicalJson(old.finalizers) !== canonicalJson(node.finalizers);
    return { node, old, ownersChanged, deletionChanged };
  }

  remove(uid: string): GraphNode | undefined {
    const node = this.nodes.get(uid);
    if (!node) return undefined;
    this.nodes.delete(uid);
    for (const r of node.owners) this.unlink(r.uid, uid);
    return node;
  }

  private link(owner: string, dep: string): void {
    let s = this.dependents.get(owner);
    if (!s) this.dependents.set(owner, (s = new Set()));
    s.add(dep);
  }

  private unlink(owner: string, dep: string): void {
    const s = this.dependents.get(owner);
    if (!s) return;
    s.delete(dep);
    if (s.size === 0) this.dependents.delete(owner);
  }
}
