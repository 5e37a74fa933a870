// The Endpoints controller (pkg/controller/endpoint/endpoints_controller.go): for every
// Service with a selector, an Endpoints object of the same name listing the selected pods
// that have an IP and are not finished — Ready pods under subsets[].addresses, the others
// under notReadyAddresses (all under addresses with publishNotReadyAddresses), ports
// resolved per pod (a named targetPort may differ between pods, so subsets group
// addresses by their port set). The Endpoints carry the Service's labels (plus
// service.kubernetes.io/headless for headless Services). Services without a selector and
// ExternalName Services are left alone (their Endpoints are the user's); a deleted
// Service's Endpoints are deleted. Writes happen only when the computed object differs.
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson, deepEqual } from '../../proto/canonical.js';
import { ApiError } from '../api/errors.js';
import { endpointSubsets, endpointsLabels, selectsPod, serviceSelector } from '../services/endpoints.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 30_000;

class EndpointsController implements Controller {
  readonly name = 'endpoints-controller';
  private readonly queue = new WorkQueue();
  private readonly svcDef: DefOf<'', 'services'>;
  private readonly epDef: DefOf<'', 'endpoints'>;
  private svcInf!: Informer<'Service'>;
  private podInf!: Informer<'Pod'>;
  private epInf!: Informer<'Endpoints'>;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {
    this.svcDef = ctx.def('', 'v1', 'services');
    this.epDef = ctx.def('', 'v1', 'endpoints');
  }

  async start(): Promise<void> {
    this.svcInf = this.ctx.informers.get('', 'v1', 'services');
    this.podInf = this.ctx.informers.get('', 'v1', 'pods');
    this.epInf = this.ctx.informers.get('', 'v1', 'endpoints');
    this.svcInf.on({
      add: (s) => this.queue.add(keyOf(s)),
      update: (_o, s) => this.queue.add(keyOf(s)),
      delete: (s) => this.queue.add(keyOf(s)),
    });
    this.podInf.on({
      add: (p) => this.podChanged(p),
      update: (o, p) => {
        if (o.metadata.resourceVersion === p.metadata.resourceVersion) return;
        this.podChanged(p);
        if (!deepEqual(o.metadata.labels ?? {}, p.metadata.labels ?? {})) this.podChanged(o);
      },
      delete: (p) => this.podChanged(p),
    });
    // someone deleted or edited an Endpoints object we manage: put it back
    this.epInf.on({
      update: (_o, ep) => {
        if (this.svcInf.get(ep.metadata.namespace, ep.metadata.name!)) this.queue.add(keyOf(ep));
      },
      delete: (ep) => {
        if (this.svcInf.get(ep.metadata.namespace, ep.metadata.name!)) this.queue.add(keyOf(ep));
      },
    });
    this.loop = runWhenSynced({
      informers: [this.svcInf, this.podInf, this.epInf],
      queue: this.queue,
      workers: 2,
      sync: (key) => this.syncService(key),
      onError: (key, err) => this.ctx.log.warn({ err, service: key }, 'endpoints sync failed; will retry'),
      // checkLeftoverEndpoints: Endpoints we made for Services that went while we were down
      onSynced: () => {
        for (const ep of this.epInf.list()) {
          if (ep.metadata.annotations?.['control-plane.alpha.kubernetes.io/leader']) continue;
          if (!this.svcInf.get(ep.metadata.namespace, ep.metadata.name!)) this.queue.add(keyOf(ep));
        }
      },
      resyncMs: RESYNC_MS,
      resync: () => this.svcInf.list(),
      enqueue: (s) => this.queue.add(keyOf(s)),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  /** getPodServiceMemberships: every Service in the pod's namespace whose selector takes it. */
  private podChanged(pod: KubeObject): void {
    for (const svc of this.svcInf.list(pod.metadata.namespace)) {
      const sel = serviceSelector(svc);
      if (sel && selectsPod(sel, pod)) this.queue.add(keyOf(svc));
    }
  }

  private async syncService(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.svcInf.get(namespace, name);
    if (!svc) {
      // The Service is gone: its Endpoints go too (deleting a missing one is fine).
      try {
        await this.ctx.storage.delete(this.epDef, namespace, name);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
      return;
    }
    const selector = serviceSelector(svc);
    if (!selector) return;
    const pods = this.podInf.list(namespace).filter((p) => selectsPod(selector, p));
    const subsets = endpointSubsets(svc, pods);
    const labels = endpointsLabels(svc);
    const current = this.epInf.get(namespace, name);
    if (current && sameSubsets(current.subsets, subsets) && deepEqual(current.metadata.labels ?? {}, labels)) return;
    if (!current) {
      const ep: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels } };
      if (subsets.length) ep.subsets = subsets;
      try {
        await this.ctx.storage.create(this.epDef, namespace, ep, { fieldManager: 'endpoint-controller' });
      } catch (e) {
        // our cache is behind: the next event brings the object and another sync
        if (e instanceof ApiError && e.code === 409) {
          this.queue.addAfter(key, 100);
          return;
        }
        throw e;
      }
      return;
    }
    try {
      await this.ctx.storage.guaranteedUpdate(
        this.epDef,
        namespace,
        name,
        { fieldManager: 'endpoint-controller' },
        (cur) => {
          if (subsets.length) cur.subsets = subsets;
          else delete cur.subsets;
          cur.metadata.labels = labels;
          return cur;
        },
      );
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) {
        this.queue.addAfter(key, 100);
        return;
      }
      throw e;
    }
  }
}

/** endpointSubsetsEqualIgnoreResourceVersion, with the empty forms (absent, []) equal. */
function sameSubsets(stored: unknown, want: unknown[]): boolean {
  const norm = (v: unknown) => canonicalJson(Array.isArray(v) ? v.map(stripEmpty) : []);
  return norm(stored) === norm(want);
}

/** a stored subset's lists without the empty ones and without targetRef resourceVersions (entries unchecked) */
function stripEmpty(ss: unknown): unknown {
  const out: Record<string, unknown> = {};
  const subset = (typeof ss === 'object' && ss !== null ? ss : {}) as Record<string, unknown>;
  for (const k of ['addresses', 'notReadyAddresses', 'ports']) {
    const list = subset[k];
    if (Array.isArray(list) && list.length)
      out[k] = list.map((a: { targetRef?: { resourceVersion?: unknown } } | null | undefined) => {
        if (!a?.targetRef) return a;
        const { resourceVersion: _rv, ...ref } = a.targetRef;
        return { ...a, targetRef: ref };
      });
  }
  return out;
}

export function create(ctx: ControllerContext): Controller {
  return new EndpointsController(ctx);
}
