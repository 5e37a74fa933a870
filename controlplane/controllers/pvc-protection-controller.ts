// The PVC protection controller (pkg/controller/volume/pvcprotection): a claim being
// deleted keeps its kubernetes.io/pvc-protection finalizer while a scheduled pod that has
// not finished (not Succeeded/Failed) uses it, so data is never pulled from under a
// running pod; the finalizer goes once no such pod is left. (The finalizer itself is added
// on create, by the API's StorageObjectInUseProtection admission.)
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import { PVC_PROTECTION_FINALIZER } from '../resources/persistent-volume-common.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 30_000;

/** the claim names a pod's volumes reference (persistentVolumeClaim, and generic ephemeral `<pod>-<volume>`) */
export function podClaimNames(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const v of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) {
    if (typeof v?.persistentVolumeClaim?.claimName === 'string') out.push(v.persistentVolumeClaim.claimName);
    else if (v?.ephemeral && typeof v.name === 'string') out.push(`${pod.metadata.name}-${v.name}`);
  }
  return out;
}

/** podUsesPVC: scheduled, not finished, and referencing the claim. */
export function podUsesClaim(pod: KubeObject, claim: KubeObject): boolean {
  if (!pod.spec?.nodeName || pod.metadata.namespace !== claim.metadata.namespace) return false;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return podClaimNames(pod).includes(claim.metadata.name!);
}

class PvcProtectionController implements Controller {
  readonly name = 'pvc-protection-controller';
  private readonly queue = new WorkQueue();
  private readonly pvcDef: DefOf<'', 'persistentvolumeclaims'>;
  private pvcInf!: Informer<'PersistentVolumeClaim'>;
  private podInf!: Informer<'Pod'>;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {
    this.pvcDef = ctx.def('', 'v1', 'persistentvolumeclaims');
  }

  async start(): Promise<void> {
    this.pvcInf = this.ctx.informers.get('', 'v1', 'persistentvolumeclaims');
    this.podInf = this.ctx.informers.get('', 'v1', 'pods');
    const claim = (c: KubeObject) => {
      if (c.metadata.deletionTimestamp) this.queue.add(keyOf(c));
    };
    this.pvcInf.on({ add: claim, update: (_o, c) => claim(c) });
    const pod = (p: KubeObject) => {
      for (const n of podClaimNames(p)) this.queue.add(`${p.metadata.namespace}/${n}`);
    };
    this.podInf.on({
      add: pod,
      update: (o, p) => {
        pod(o);
        pod(p);
      },
      delete: pod,
    });
    this.loop = runWhenSynced({
      informers: [this.pvcInf, this.podInf],
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) => this.ctx.log.warn({ err, claim: key }, 'pvc protection sync failed; will retry'),
      resyncMs: RESYNC_MS,
      resync: () => this.pvcInf.list().filter((c) => c.metadata.deletionTimestamp),
      enqueue: (c) => this.queue.add(keyOf(c)),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const claim = this.pvcInf.get(namespace, name);
    if (!claim?.metadata.deletionTimestamp || !(claim.metadata.finalizers ?? []).includes(PVC_PROTECTION_FINALIZER))
      return;
    if (this.podInf.list(namespace).some((p) => podUsesClaim(p, claim))) return;
    // the informer may lag: ask the API before letting the data go (askAPIServer)
    const live = await this.ctx.storage.list(this.ctx.def('', 'v1', 'pods'), namespace);
    if (live.items.some((p) => podUsesClaim(p, claim))) return;
    try {
      await this.ctx.storage.guaranteedUpdate(this.pvcDef, namespace, name, {}, (cur) => {
        if (cur.metadata.uid !== claim.metadata.uid) return cur;
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f: string) => f !== PVC_PROTECTION_FINALIZER);
        return cur;
      });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}

export function create(ctx: ControllerContext): Controller {
  return new PvcProtectionController(ctx);
}
