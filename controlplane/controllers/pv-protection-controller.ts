// The PV protection controller (pkg/controller/volume/pvprotection): a PersistentVolume
// being deleted keeps its kubernetes.io/pv-protection finalizer while it is Bound to a
// claim; once it is not (Released, Available, Failed) the finalizer goes and so does the PV.
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import { PV_PROTECTION_FINALIZER } from '../resources/persistent-volume-common.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 30_000;

class PvProtectionController implements Controller {
  readonly name = 'pv-protection-controller';
  private readonly queue = new WorkQueue();
  private readonly pvDef: DefOf<'', 'persistentvolumes'>;
  private pvInf!: Informer<'PersistentVolume'>;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {
    this.pvDef = ctx.def('', 'v1', 'persistentvolumes');
  }

  async start(): Promise<void> {
    this.pvInf = this.ctx.informers.get('', 'v1', 'persistentvolumes');
    const pv = (v: KubeObject) => {
      if (v.metadata.deletionTimestamp) this.queue.add(keyOf(v));
    };
    this.pvInf.on({ add: pv, update: (_o, v) => pv(v) });
    this.loop = runWhenSynced({
      informers: [this.pvInf],
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) => this.ctx.log.warn({ err, pv: key }, 'pv protection sync failed; will retry'),
      resyncMs: RESYNC_MS,
      resync: () => this.pvInf.list().filter((v) => v.metadata.deletionTimestamp),
      enqueue: (v) => this.queue.add(keyOf(v)),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private async sync(name: string): Promise<void> {
    const pv = this.pvInf.get(undefined, name);
    if (!pv?.metadata.deletionTimestamp || !(pv.metadata.finalizers ?? []).includes(PV_PROTECTION_FINALIZER)) return;
    if (pv.status?.phase === 'Bound') return;
    try {
      await this.ctx.storage.guaranteedUpdate(this.pvDef, undefined, name, {}, (cur) => {
        if (cur.metadata.uid !== pv.metadata.uid || cur.status?.phase === 'Bound') return cur;
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f: string) => f !== PV_PROTECTION_FINALIZER);
        return cur;
      });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}

export function create(ctx: ControllerContext): Controller {
  return new PvProtectionController(ctx);
}
