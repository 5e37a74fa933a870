// The ServiceAccount controller (pkg/controller/serviceaccount/serviceaccounts_controller.go):
// every active namespace has a `default` ServiceAccount, made again if deleted.
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import type { ControllerContext } from './context.js';
import { runWhenSynced, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
const RESYNC_MS = 60_000;

export function namespaceActive(ns: KubeObject | undefined): boolean {
  return !!ns && !ns.metadata.deletionTimestamp && ns.status?.phase !== 'Terminating';
}

class ServiceAccountController implements Controller {
  readonly name = 'serviceaccount-controller';
  private readonly queue = new WorkQueue();
  private nsInf!: Informer;
  private saInf!: Informer;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {}

  async start(): Promise<void> {
    this.nsInf = this.ctx.informers.get('', 'v1', 'namespaces');
    this.saInf = this.ctx.informers.get('', 'v1', 'serviceaccounts');
    const ns = (o: KubeObject) => this.queue.add(o.metadata.name!);
    this.nsInf.on({ add: ns, update: (_o, n) => ns(n) });
    this.saInf.on({ delete: (o) => { if (o.metadata.name === DEFAULT_SERVICE_ACCOUNT) this.queue.add(o.metadata.namespace!); } });
    this.loop = runWhenSynced({
      informers: [this.nsInf, this.saInf], queue: this.queue, workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) => this.ctx.log.warn({ err, namespace: key }, 'default service account sync failed; will retry'),
      resyncMs: RESYNC_MS, resync: () => this.nsInf.list(), enqueue: ns,
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private async sync(namespace: string): Promise<void> {
    if (!namespaceActive(this.nsInf.get(undefined, namespace))) return;
    if (this.saInf.get(namespace, DEFAULT_SERVICE_ACCOUNT)) return;
    try {
      await this.ctx.storage.create(this.ctx.def('', 'v1', 'serviceaccounts'), namespace,
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } }, { fieldManager: this.name });
    } catch (e) {
      // exists already (cache behind), or the namespace is going away
      if (e instanceof ApiError && (e.code === 409 || e.code === 403 || e.code === 404)) return;
      throw e;
    }
  }
}

export function create(ctx: ControllerContext): Controller {
  return new ServiceAccountController(ctx);
}
