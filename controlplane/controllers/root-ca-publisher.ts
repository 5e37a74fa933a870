// The root CA publisher (pkg/controller/certificates/rootcacertpublisher): a ConfigMap
// kube-root-ca.crt with the cluster CA (key ca.crt) in every active namespace, put back
// when deleted or changed. Pods read it through their kube-api-access-* volume.
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import type { ControllerContext } from './context.js';
import { runWhenSynced, type Informer } from './informer.js';
import { namespaceActive } from './service-account-controller.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION = 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
const RESYNC_MS = 60_000;

class RootCaPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  private readonly queue = new WorkQueue();
  private nsInf!: Informer;
  private cmInf!: Informer;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext, private readonly caPem: string) {}

  async start(): Promise<void> {
    this.nsInf = this.ctx.informers.get('', 'v1', 'namespaces');
    this.cmInf = this.ctx.informers.get('', 'v1', 'configmaps');
    const ns = (o: KubeObject) => this.queue.add(o.metadata.name!);
    const cm = (o: KubeObject) => { if (o.metadata.name === ROOT_CA_CONFIGMAP) this.queue.add(o.metadata.namespace!); };
    this.nsInf.on({ add: ns, update: (_o, n) => ns(n) });
    this.cmInf.on({ add: cm, update: (_o, n) => cm(n), delete: cm });
    this.loop = runWhenSynced({
      informers: [this.nsInf, this.cmInf], queue: this.queue, workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) => this.ctx.log.warn({ err, namespace: key }, 'kube-root-ca.crt sync failed; will retry'),
      resyncMs: RESYNC_MS, resync: () => this.nsInf.list(), enqueue: ns,
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private async sync(namespace: string): Promise<void> {
    if (!namespaceActive(this.nsInf.get(undefined, namespace))) return;
    const def = this.ctx.def('', 'v1', 'configmaps');
    const cur = this.cmInf.get(namespace, ROOT_CA_CONFIGMAP);
    try {
      if (!cur) {
        await this.ctx.storage.create(def, namespace, {
          apiVersion: 'v1', kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data: { 'ca.crt': this.caPem },
        }, { fieldManager: this.name });
        return;
      }
      const data = cur.data as Record<string, unknown> | undefined;
      if (data?.['ca.crt'] === this.caPem && Object.keys(data).length === 1 && cur.metadata.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION) return;
      await this.ctx.storage.guaranteedUpdate(def, namespace, ROOT_CA_CONFIGMAP, { fieldManager: this.name }, (o) => {
        o.data = { 'ca.crt': this.caPem };
        delete o.binaryData;
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION };
        return o;
      });
    } catch (e) {
      if (e instanceof ApiError && (e.code === 403 || e.code === 404)) return;
      throw e;
    }
  }
}

export function create(ctx: ControllerContext, caPem: string): Controller {
  return new RootCaPublisher(ctx, caPem);
}
