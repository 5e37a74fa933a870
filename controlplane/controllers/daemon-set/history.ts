// A DaemonSet's ControllerRevisions (daemon/update.go): claim them, find or snapshot the one
// holding the current template (bumping status.collisionCount on a name collision), drop
// duplicates, raise its Revision after a rollback, and delete old ones beyond
// revisionHistoryLimit that no pod still runs. Decisions live in ../history/plan.ts.
import type { KubeObject } from '../../../proto/meta.js';
import { ApiError } from '../../api/errors.js';
import { selectorMatches } from '../../resources/label-selector.js';
import type { ResourceDef } from '../../resources/types.js';
import type { ControllerContext } from '../context.js';
import { newDaemonSetRevision, REVISION_HASH_LABEL, sameData } from '../history/controller-history.js';
import type { HistoryClient } from '../history/history-client.js';
import {
  claimRevisions,
  daemonSetHistoryToDelete,
  daemonSetRevisionHash,
  planDaemonSetHistory,
} from '../history/plan.js';
import { computeHash } from './pods.js';

export interface DaemonSetHistoryHooks {
  /** a fresh read says the DaemonSet is still there and not being deleted (RecheckDeletionTimestamp) */
  canAdopt(): Promise<boolean>;
  /** the pods the DaemonSet controls, terminal and terminating ones included */
  pods(): KubeObject[];
}

export class DaemonSetHistory {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly client: HistoryClient,
    private readonly dsDef: ResourceDef,
    private readonly podDef: ResourceDef,
  ) {}

  /** controlledHistories: the revisions this DaemonSet controls, adopting and releasing as needed */
  async controlled(ds: KubeObject, canAdopt: () => Promise<boolean>): Promise<KubeObject[]> {
    const claim = claimRevisions(ds, this.client.list(ds.metadata.namespace), (cr) =>
      selectorMatches(ds.spec?.selector, cr.metadata.labels),
    );
    const out = [...claim.owned];
    if (claim.adopt.length && (await canAdopt())) {
      for (const cr of claim.adopt) {
        const adopted = await this.client.adopt(ds, 'DaemonSet', cr);
        if (adopted) out.push(adopted);
      }
    }
    for (const cr of claim.release) await this.client.release(ds, cr);
    return out;
  }

  /** constructHistory: the current revision (created if missing) and the old ones */
  async construct(ds: KubeObject, hooks: DaemonSetHistoryHooks): Promise<{ cur: KubeObject; old: KubeObject[] }> {
    const plan = planDaemonSetHistory(ds, await this.controlled(ds, hooks.canAdopt));
    // We use the history name instead of computing the hash, so collisions need no care.
    for (const cr of plan.unlabelled) await this.client.label(cr, REVISION_HASH_LABEL, cr.metadata.name!);
    if (!plan.current) return { cur: await this.snapshot(ds, plan.revision), old: plan.old };
    const cur = plan.current;
    if (plan.duplicates.length) await this.dedup(cur, plan.duplicates, hooks.pods());
    if (Number(cur.revision ?? 0) < plan.revision) await this.client.setRevision(cur, plan.revision);
    return { cur, old: plan.old };
  }

  /**
   * dedupCurHistories: pods of a duplicate get the kept revision's hash, then the duplicate
   * goes. (Upstream relabels every daemon pod whose hash differs, old ones included, which
   * would mark them updated; only the duplicates' pods are relabelled here.)
   */
  private async dedup(keep: KubeObject, duplicates: KubeObject[], pods: KubeObject[]): Promise<void> {
    const keepHash = daemonSetRevisionHash(keep);
    const dupHashes = new Set(duplicates.map(daemonSetRevisionHash));
    for (const pod of pods) {
      const h = pod.metadata.labels?.[REVISION_HASH_LABEL];
      if (h === undefined || !dupHashes.has(h) || h === keepHash) continue;
      try {
        await this.ctx.storage.guaranteedUpdate(this.podDef, pod.metadata.namespace, pod.metadata.name!, {}, (cur) => {
          cur.metadata.labels = { ...(cur.metadata.labels ?? {}), [REVISION_HASH_LABEL]: keepHash };
          return cur;
        });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    for (const cr of duplicates) await this.client.delete(cr);
  }

  /**
   * snapshot: create `<ds>-<template hash>`. If that name holds other data, raise
   * status.collisionCount (when ours was not stale) and fail, so the next sync hashes anew.
   */
  private async snapshot(ds: KubeObject, revision: number): Promise<KubeObject> {
    const collisionCount = typeof ds.status?.collisionCount === 'number' ? ds.status.collisionCount : undefined;
    const cr = newDaemonSetRevision(ds, revision, computeHash(ds.spec?.template, collisionCount));
    try {
      return await this.client.create(ds.metadata.namespace, cr);
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      const existing = await this.client.get(ds.metadata.namespace, cr.metadata.name!);
      if (existing && sameData(existing.data, cr.data)) return existing;
      if (!existing) throw e;
      const fresh = await this.ctx.storage.get(this.dsDef, ds.metadata.namespace, ds.metadata.name!);
      if ((fresh.status?.collisionCount ?? null) !== (collisionCount ?? null)) {
        throw new Error(
          `found a stale collision count (${collisionCount ?? 'nil'}, expected ${fresh.status?.collisionCount ?? 'nil'}) of DaemonSet "${ds.metadata.name}" while processing; will retry until it is updated`,
        );
      }
      await this.ctx.storage.guaranteedUpdate(
        this.dsDef,
        ds.metadata.namespace,
        ds.metadata.name!,
        {},
        (cur) => {
          if (cur.metadata.uid !== ds.metadata.uid) throw new ApiError(404, 'NotFound', 'daemonset was replaced');
          cur.status = { ...(cur.status ?? {}), collisionCount: (Number(cur.status?.collisionCount ?? 0) || 0) + 1 };
          return cur;
        },
        'status',
      );
      throw e;
    }
  }

  /** cleanupHistory: old revisions beyond revisionHistoryLimit that no pod carries */
  async cleanup(ds: KubeObject, old: KubeObject[], pods: KubeObject[]): Promise<void> {
    const limit = Number(ds.spec?.revisionHistoryLimit ?? 10);
    const live = new Set<string>();
    for (const p of pods) {
      const h = p.metadata.labels?.[REVISION_HASH_LABEL];
      if (h) live.add(h);
    }
    for (const cr of daemonSetHistoryToDelete(old, limit, live)) await this.client.delete(cr);
  }
}
