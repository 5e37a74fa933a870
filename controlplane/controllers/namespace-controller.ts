// The namespace controller (pkg/controller/namespace): a namespace being deleted is
// Terminating while the `kubernetes` finalizer in spec.finalizers holds it; this
// controller deletes every namespaced object in it (deletecollection per kind, with
// background propagation), re-checks until all are gone (pods wait for their agents),
// reports progress in the namespace's deletion conditions, then drops the finalizer,
// which lets the API remove the namespace.
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { ApiError } from '../api/errors.js';
import { rfc3339 } from '../api/storage.js';
import { resources } from '../resources/index.js';
import { customResourceStorageDefs } from '../crd/registry.js';
import type { ResourceDef } from '../resources/types.js';
import type { ControllerContext, DefOf } from './context.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import type { NamespaceCondition } from '../../proto/api/types.gen.js';

export const FINALIZER_KUBERNETES = 'kubernetes';
/** while content remains, look again this often (pod deletions also wake us) */
const RECHECK_MS = 1_000;

export interface ContentReport {
  /** remaining objects per resource ("pods", "replicasets.apps") */
  remaining: Map<string, number>;
  /** remaining objects per finalizer they carry */
  finalizers: Map<string, number>;
  /** resources whose deletion failed, with the error */
  failures: string[];
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** The five NamespaceDeletion* conditions as namespaced_resources_deleter.go reports them. */
export function deletionConditions(r: ContentReport): Condition[] {
  const remaining = [...r.remaining].filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b));
  const finalizers = [...r.finalizers].filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b));
  return [
    {
      type: 'NamespaceDeletionDiscoveryFailure',
      status: 'False',
      reason: 'ResourcesDiscovered',
      message: 'All resources successfully discovered',
    },
    {
      type: 'NamespaceDeletionGroupVersionParsingFailure',
      status: 'False',
      reason: 'ParsedGroupVersions',
      message: 'All legacy kube types successfully parsed',
    },
    r.failures.length
      ? {
          type: 'NamespaceDeletionContentFailure',
          status: 'True',
          reason: 'ContentDeletionFailed',
          message: `Failed to delete all resource types, ${r.failures.length} remaining: ${r.failures.join(', ')}`,
        }
      : {
          type: 'NamespaceDeletionContentFailure',
          status: 'False',
          reason: 'ContentDeleted',
          message: 'All content successfully deleted, may be waiting on finalization',
        },
    remaining.length
      ? {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${remaining.map(([k, n]) => `${k} has ${n} resource instances`).join(', ')}`,
        }
      : {
          type: 'NamespaceContentRemaining',
          status: 'False',
          reason: 'ContentRemoved',
          message: 'All content successfully removed',
        },
    finalizers.length
      ? {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          reason: 'SomeFinalizersRemain',
          message: `Some content in the namespace has finalizers remaining: ${finalizers.map(([k, n]) => `${k} in ${n} resource instances`).join(', ')}`,
        }
      : {
          type: 'NamespaceFinalizersRemaining',
          status: 'False',
          reason: 'ContentHasNoFinalizers',
          message: 'All content-preserving finalizers finished',
        },
  ];
}

/** conditions with lastTransitionTime kept where the status did not change */
export function mergeConditions<C extends NamespaceCondition>(
  old: readonly C[] | undefined,
  next: Condition[],
  now: string,
): (C | Condition)[] {
  const others = (old ?? []).filter((c) => !next.some((n) => n.type === c.type));
  return [
    ...others,
    ...next.map((c) => {
      const prev = (old ?? []).find((o) => o.type === c.type);
      return {
        ...c,
        lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
      };
    }),
  ];
}

export function create(ctx: ControllerContext): Controller {
  return new NamespaceController(ctx);
}

export class NamespaceController implements Controller {
  readonly name = 'namespace-controller';
  private readonly queue = new WorkQueue(500, 60_000);
  private readonly log: Logger;
  private readonly nsDef: DefOf<'', 'namespaces'>;
  /** every namespaced kind, custom resources of served CRDs included (one version each) */
  private get namespaced(): ResourceDef[] {
    return [...resources, ...customResourceStorageDefs()].filter(
      (r) => r.namespaced && r.verbs.includes('deletecollection'),
    );
  }

  constructor(private readonly ctx: ControllerContext) {
    this.log = ctx.log.child({ controller: this.name });
    this.nsDef = ctx.def('', 'v1', 'namespaces');
  }

  async start(): Promise<void> {
    const nsInformer = this.ctx.informers.get('', 'v1', 'namespaces');
    nsInformer.on({
      add: (ns) => {
        if (ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!);
      },
      update: (_old, ns) => {
        if (ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!);
      },
    });
    // a pod finishing its graceful termination may be the last thing a namespace waits for
    this.ctx.informers.get('', 'v1', 'pods').on({
      delete: (pod) => {
        const ns = pod.metadata.namespace && nsInformer.get(undefined, pod.metadata.namespace);
        if (ns && ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!);
      },
    });
    this.queue.run(
      (name) => this.syncNamespace(name),
      2,
      (name, err) => {
        this.log.warn(
          { namespace: name, err: err instanceof Error ? err.message : String(err) },
          'namespace deletion failed, will retry',
        );
      },
    );
  }

  stop(): void {
    this.queue.stop();
  }

  async syncNamespace(name: string): Promise<void> {
    const ns = await this.ctx.storage.tryGet(this.nsDef, undefined, name);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    if (!specFinalizers(ns).includes(FINALIZER_KUBERNETES)) return;
    const report = await this.deleteAllContent(name);
    await this.updateConditions(ns, report);
    if (report.failures.length) throw new Error(`deleting content of namespace ${name}: ${report.failures.join('; ')}`);
    const left = [...report.remaining.values()].reduce((a, b) => a + b, 0);
    if (left > 0) {
      this.log.debug(
        { namespace: name, remaining: Object.fromEntries(report.remaining) },
        'namespace content remaining',
      );
      this.queue.addAfter(name, RECHECK_MS);
      return;
    }
    // Empty: drop our finalizer; with no finalizers left the API removes the namespace.
    try {
      await this.ctx.storage.guaranteedUpdate(this.nsDef, undefined, name, {}, (cur) => {
        if (cur.metadata.uid !== ns.metadata.uid) return cur;
        cur.spec = { ...(cur.spec ?? {}), finalizers: specFinalizers(cur).filter((f) => f !== FINALIZER_KUBERNETES) };
        return cur;
      });
      this.log.info({ namespace: name }, 'namespace emptied, finalized');
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  /** deletecollection every namespaced kind, then count what is still there */
  private async deleteAllContent(namespace: string): Promise<ContentReport> {
    const report: ContentReport = { remaining: new Map(), finalizers: new Map(), failures: [] };
    for (const def of this.namespaced) {
      const label = def.group ? `${def.resource}.${def.group}` : def.resource; // GroupResource.String()
      try {
        await this.ctx.storage.deleteCollection(def, namespace, {}, { propagationPolicy: 'Background' });
        const left = await this.ctx.storage.list(def, namespace, {});
        if (left.items.length) report.remaining.set(label, left.items.length);
        for (const o of left.items) {
          for (const f of o.metadata.finalizers ?? []) report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
        }
      } catch (e) {
        report.failures.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return report;
  }

  private async updateConditions(ns: KubeObject, report: ContentReport): Promise<void> {
    const next = deletionConditions(report);
    const old: Condition[] = Array.isArray(ns.status?.conditions) ? ns.status.conditions : [];
    const strip = (cs: Condition[]) => canonicalJson(cs.map(({ lastTransitionTime: _t, ...c }) => c));
    if (strip(old.filter((c) => next.some((n) => n.type === c.type))) === strip(next)) return;
    const now = rfc3339(this.ctx.now());
    try {
      await this.ctx.storage.guaranteedUpdate(
        this.nsDef,
        undefined,
        ns.metadata.name!,
        {},
        (cur) => {
          if (cur.metadata.uid !== ns.metadata.uid) return cur;
          cur.status = { ...(cur.status ?? {}), conditions: mergeConditions(cur.status?.conditions, next, now) };
          return cur;
        },
        'status',
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}

function specFinalizers(ns: KubeObject): string[] {
  return Array.isArray(ns.spec?.finalizers) ? ns.spec.finalizers : [];
}
