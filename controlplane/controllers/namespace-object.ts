// One object every active namespace must have (the `default` ServiceAccount, the
// kube-root-ca.crt ConfigMap): a controller keyed by namespace, woken when a namespace is
// added or changes and when an object of the watched kind with that name changes or goes,
// resynced over all namespaces; `ensure` runs only for namespaces that are not
// terminating. The two controllers differ only in what `ensure` writes.
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import type { ControllerContext } from './context.js';
import { runWhenSynced, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 60_000;

export function namespaceActive(ns: KubeObject | undefined): boolean {
  return !!ns && !ns.metadata.deletionTimestamp && ns.status?.phase !== 'Terminating';
}

export interface NamespaceObjectOptions {
  name: string;
  /** the kind of the object: its informer's group and plural */
  group: string;
  plural: string;
  /** the object's name in each namespace */
  objectName: string;
  /** which changes of that object wake the namespace (delete always does) */
  wakeOnAddUpdate: boolean;
  /** said in the log when a sync fails */
  what: string;
  /** make the object right in an active namespace; `cur` is the cached one, if any */
  ensure(namespace: string, cur: KubeObject | undefined): Promise<void>;
}

export function namespaceObjectController(ctx: ControllerContext, o: NamespaceObjectOptions): Controller {
  const queue = new WorkQueue();
  let loop: { stop(): void } | undefined;
  let nsInf: Informer<'Namespace'>;
  let objInf: Informer;
  return {
    name: o.name,
    async start() {
      nsInf = ctx.informers.get('', 'v1', 'namespaces');
      objInf = ctx.informers.get(o.group, 'v1', o.plural);
      const ns = (x: KubeObject) => queue.add(x.metadata.name!);
      const obj = (x: KubeObject) => {
        if (x.metadata.name === o.objectName) queue.add(x.metadata.namespace!);
      };
      nsInf.on({ add: ns, update: (_old, n) => ns(n) });
      objInf.on(o.wakeOnAddUpdate ? { add: obj, update: (_old, n) => obj(n), delete: obj } : { delete: obj });
      loop = runWhenSynced({
        informers: [nsInf, objInf],
        queue,
        workers: 1,
        sync: async (namespace) => {
          if (!namespaceActive(nsInf.get(undefined, namespace))) return;
          try {
            await o.ensure(namespace, objInf.get(namespace, o.objectName));
          } catch (e) {
            // exists already (the cache is behind), or the namespace is going away
            if (e instanceof ApiError && (e.code === 409 || e.code === 403 || e.code === 404)) return;
            throw e;
          }
        },
        onError: (key, err) => ctx.log.warn({ err, namespace: key }, `${o.what} sync failed; will retry`),
        resyncMs: RESYNC_MS,
        resync: () => nsInf.list(),
        enqueue: ns,
      });
    },
    stop() {
      loop?.stop();
      queue.stop();
    },
  };
}
