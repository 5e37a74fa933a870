// The resource quota controller (pkg/controller/resourcequota): keeps every
// ResourceQuota's status true — status.hard mirrors spec.hard, status.used is recounted
// from the namespace's objects (controlplane/quota/usage.ts) when a quota is created or
// changed, when usage is released (a pod, service, claim, ConfigMap or Secret deleted, a
// pod finished, a service or claim changed) and on a periodic resync. The write is a
// compare-and-swap on the quota, so it never undoes a charge admission made meanwhile.
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { ApiError } from '../api/errors.js';
import { desiredQuotaStatus, namespacedDef, type ListFn } from '../quota/usage.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

/** --resource-quota-sync-period is 5 min upstream; skiff recounts more often (a small cluster) */
export const QUOTA_RESYNC_MS = 30_000;

const terminal = (p: KubeObject): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** the replenishment rules: which changes of a tracked kind can release usage */
const RELEASES: Record<string, (old: KubeObject, cur: KubeObject) => boolean> = {
  pods: (o, n) => (!terminal(o) && terminal(n)) || (!o.metadata.deletionTimestamp && !!n.metadata.deletionTimestamp),
  services: (o, n) =>
    o.spec?.type !== n.spec?.type || canonicalJson(o.spec?.ports ?? []) !== canonicalJson(n.spec?.ports ?? []),
  persistentvolumeclaims: (o, n) =>
    canonicalJson(o.spec?.resources ?? {}) !== canonicalJson(n.spec?.resources ?? {}) ||
    canonicalJson(o.status?.allocatedResources ?? {}) !== canonicalJson(n.status?.allocatedResources ?? {}),
  configmaps: () => false,
  secrets: () => false,
};

class ResourceQuotaController implements Controller {
  readonly name = 'resource-quota-controller';
  private readonly queue = new WorkQueue();
  private readonly quotaDef: DefOf<'', 'resourcequotas'>;
  private quotaInf!: Informer<'ResourceQuota'>;
  private loop?: { stop(): void };

  constructor(
    private readonly ctx: ControllerContext,
    private readonly resyncMs: number,
  ) {
    this.quotaDef = ctx.def('', 'v1', 'resourcequotas');
  }

  async start(): Promise<void> {
    this.quotaInf = this.ctx.informers.get('', 'v1', 'resourcequotas');
    const quota = (q: KubeObject) => this.queue.add(keyOf(q));
    this.quotaInf.on({
      add: quota,
      update: (o, n) => {
        if (canonicalJson(o.spec ?? {}) !== canonicalJson(n.spec ?? {}) || !n.status?.used) quota(n);
      },
    });
    const informers: { synced: boolean }[] = [this.quotaInf];
    for (const [plural, releases] of Object.entries(RELEASES)) {
      const inf = this.ctx.informers.get('', 'v1', plural);
      inf.on({
        delete: (o) => this.replenish(o.metadata.namespace),
        update: (o, n) => {
          if (releases(o, n)) this.replenish(n.metadata.namespace);
        },
      });
      informers.push(inf);
    }
    this.loop = runWhenSynced({
      informers,
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) => this.ctx.log.warn({ err, quota: key }, 'resource quota sync failed; will retry'),
      resyncMs: this.resyncMs,
      resync: () => this.quotaInf.list(),
      enqueue: quota,
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  /** replenishQuota: recount every quota of the namespace */
  private replenish(namespace: string | undefined): void {
    if (!namespace) return;
    for (const q of this.quotaInf.list()) if (q.metadata.namespace === namespace) this.queue.add(keyOf(q));
  }

  private readonly list: ListFn = async (group, resource, namespace) => {
    const def = namespacedDef(group, resource);
    return def ? (await this.ctx.storage.list(def, namespace)).items : [];
  };

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const quota = await this.ctx.storage.tryGet(this.quotaDef, namespace, name);
    if (!quota) return;
    const status = await desiredQuotaStatus(quota, this.list, this.ctx.now().getTime());
    if (!status) return;
    try {
      await this.ctx.storage.update(this.quotaDef, namespace, name, { ...quota, status }, {}, 'status');
    } catch (e) {
      // admission charged the quota meanwhile (409) or it is gone (404): recount from the new state
      if (e instanceof ApiError && e.code === 409) {
        this.queue.add(key);
        return;
      }
      if (e instanceof ApiError && e.code === 404) return;
      throw e;
    }
  }
}

export function create(ctx: ControllerContext, opts: { resyncMs?: number } = {}): Controller {
  return new ResourceQuotaController(ctx, opts.resyncMs ?? QUOTA_RESYNC_MS);
}
