// The EndpointSlice controller (pkg/controller/endpointslice, staging endpointslice
// reconciler): for every Service with a selector, IPv4 EndpointSlices named
// `<service>-<random>` (generateName), labelled kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io plus the Service's
// labels, owned by the Service (controller: true, so the garbage collector removes them
// with it). Every selected pod with an IP that is not finished is an endpoint (terminating
// ones too, with conditions ready/serving/terminating), grouped into slices by the ports it
// resolves, at most 100 endpoints a slice. Existing slices keep their endpoints and are
// filled before new ones are made; slices that end up empty are deleted; a Service with no
// endpoints keeps one placeholder slice (no endpoints, no ports). Writes happen only when a
// slice's content changes, and a sync waits until the cache shows this controller's own
// earlier writes (the endpointSliceTracker) so it never makes a slice twice.
import type { KubeObject } from '../../proto/meta.js';
import type { Endpoint } from '../../proto/api/types.gen.js';
import { canonicalJson } from '../../proto/canonical.js';
import { isIP } from 'node:net';
import { ApiError } from '../api/errors.js';
import {
  HEADLESS_LABEL,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  SLICE_CONTROLLER_NAME,
  compareSliceEndpoints,
  isHeadless,
  selectsPod,
  serviceSelector,
  shouldPodBeInEndpoints,
  sliceEndpoint,
  sliceEndpointKey,
  slicePorts,
  type SliceEndpoint,
  type SlicePort,
} from '../services/endpoints.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

export const MAX_ENDPOINTS_PER_SLICE = 100;
const RESYNC_MS = 30_000;
const ZONE_LABEL = 'topology.kubernetes.io/zone';

const portsKey = (ports: unknown): string => canonicalJson(Array.isArray(ports) ? ports : []);

/** The labels every slice of the Service carries (setEndpointSliceLabels). */
export function sliceLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) {
    if (k === SERVICE_NAME_LABEL || k === MANAGED_BY_LABEL || k === HEADLESS_LABEL) continue;
    labels[k] = v;
  }
  labels[SERVICE_NAME_LABEL] = svc.metadata.name!;
  labels[MANAGED_BY_LABEL] = SLICE_CONTROLLER_NAME;
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
  return labels;
}

function ownedBy(slice: KubeObject, svc: KubeObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === svc.metadata.uid);
}

/** What one slice should hold after a sync: its existing name (update) or none (create). */
interface PlannedSlice {
  name?: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

export interface SlicePlan {
  create: PlannedSlice[];
  update: PlannedSlice[];
  delete: string[];
}

/**
 * reconcileByPortMapping for one address type: `desired` maps a ports key to the ports and
 * the endpoints that resolve them; `existing` are the Service's current slices.
 * Returns the writes that make the slices match (updates only for slices that change).
 */
export function planSlices(
  desired: Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>,
  existing: KubeObject[],
  labelsChanged: (s: KubeObject) => boolean,
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const byKey = new Map<string, KubeObject[]>();
  for (const s of [...existing].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1))) {
    const k = portsKey(s.ports);
    if (!desired.has(k)) {
      plan.delete.push(s.metadata.name!);
      continue;
    }
    byKey.set(k, [...(byKey.get(k) ?? []), s]);
  }
  for (const [k, want] of desired) {
    const remaining = new Map(want.endpoints.map((e) => [sliceEndpointKey(e), e]));
    const kept: { slice: KubeObject; endpoints: SliceEndpoint[]; changed: boolean }[] = [];
    for (const s of byKey.get(k) ?? []) {
      const stored: (Partial<Endpoint> | null | undefined)[] = Array.isArray(s.endpoints) ? s.endpoints : [];
      const next: SliceEndpoint[] = [];
      let changed = labelsChanged(s);
      for (const e of stored) {
        const key = `${e?.addresses?.[0]}/${e?.targetRef?.uid ?? ''}`;
        const w = remaining.get(key);
        if (!w) {
          changed = true;
          continue;
        }
        remaining.delete(key);
        if (canonicalJson(w) !== canonicalJson(e)) changed = true;
        next.push(w);
      }
      kept.push({ slice: s, endpoints: next, changed });
    }
    // new endpoints go first into slices that change anyway, then into any with room
    const fill = (pred: (x: (typeof kept)[number]) => boolean) => {
      for (const x of kept) {
        if (!pred(x)) continue;
        while (remaining.size && x.endpoints.length < MAX_ENDPOINTS_PER_SLICE) {
          const [key, e] = remaining.entries().next().value as [string, SliceEndpoint];
          remaining.delete(key);
          x.endpoints.push(e);
          x.changed = true;
        }
      }
    };
    fill((x) => x.changed && x.endpoints.length > 0);
    fill(() => true);
    for (const x of kept) {
      if (x.endpoints.length === 0) {
        plan.delete.push(x.slice.metadata.name!);
        continue;
      }
      if (x.changed)
        plan.update.push({
          name: x.slice.metadata.name!,
          ports: want.ports,
          endpoints: x.endpoints.sort(compareSliceEndpoints),
        });
    }
    const rest = [...remaining.values()];
    for (let i = 0; i < rest.length; i += MAX_ENDPOINTS_PER_SLICE) {
      plan.create.push({
        ports: want.ports,
        endpoints: rest.slice(i, i + MAX_ENDPOINTS_PER_SLICE).sort(compareSliceEndpoints),
      });
    }
  }
  // a Service with no endpoints keeps one placeholder slice
  if (plan.create.length === 0 && plan.delete.length === existing.length) {
    const only = plan.delete.length === 1 ? existing.find((s) => s.metadata.name === plan.delete[0]) : undefined;
    const isPlaceholder = only && (only.endpoints ?? []).length === 0 && (only.ports ?? []).length === 0;
    if (only && isPlaceholder) {
      plan.delete = [];
      if (labelsChanged(only)) plan.update.push({ name: only.metadata.name!, ports: [], endpoints: [] });
    } else plan.create.push({ ports: [], endpoints: [] });
  }
  return plan;
}

class EndpointSliceController implements Controller {
  readonly name = 'endpointslice-controller';
  private readonly queue = new WorkQueue();
  private readonly sliceDef: DefOf<'discovery.k8s.io', 'endpointslices'>;
  private svcInf!: Informer<'Service'>;
  private podInf!: Informer<'Pod'>;
  private sliceInf!: Informer<'EndpointSlice'>;
  private nodeInf!: Informer<'Node'>;
  /** endpointSliceTracker: per Service, slice name -> resourceVersion written (or 0 = deleted) */
  private readonly written = new Map<string, Map<string, number>>();
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {
    this.sliceDef = ctx.def('discovery.k8s.io', 'v1', 'endpointslices');
  }

  async start(): Promise<void> {
    this.svcInf = this.ctx.informers.get('', 'v1', 'services');
    this.podInf = this.ctx.informers.get('', 'v1', 'pods');
    this.sliceInf = this.ctx.informers.get('discovery.k8s.io', 'v1', 'endpointslices');
    this.nodeInf = this.ctx.informers.get('', 'v1', 'nodes');
    this.svcInf.on({
      add: (s) => this.queue.add(keyOf(s)),
      update: (_o, s) => this.queue.add(keyOf(s)),
      delete: (s) => {
        this.written.delete(keyOf(s));
        this.queue.add(keyOf(s));
      },
    });
    this.podInf.on({
      add: (p) => this.podChanged(p),
      update: (o, p) => {
        if (o.metadata.resourceVersion === p.metadata.resourceVersion) return;
        this.podChanged(p);
        if (canonicalJson(o.metadata.labels ?? {}) !== canonicalJson(p.metadata.labels ?? {})) this.podChanged(o);
      },
      delete: (p) => this.podChanged(p),
    });
    const sliceChanged = (s: KubeObject) => {
      if (s.metadata.labels?.[MANAGED_BY_LABEL] !== SLICE_CONTROLLER_NAME) return;
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc) this.queue.add(`${s.metadata.namespace}/${svc}`);
    };
    this.sliceInf.on({ add: sliceChanged, update: (_o, s) => sliceChanged(s), delete: sliceChanged });
    this.loop = runWhenSynced({
      informers: [this.svcInf, this.podInf, this.sliceInf, this.nodeInf],
      queue: this.queue,
      workers: 2,
      sync: (key) => this.syncService(key),
      onError: (key, err) => this.ctx.log.warn({ err, service: key }, 'endpointslice sync failed; will retry'),
      resyncMs: RESYNC_MS,
      resync: () => this.svcInf.list(),
      enqueue: (s) => this.queue.add(keyOf(s)),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private podChanged(pod: KubeObject): void {
    for (const svc of this.svcInf.list(pod.metadata.namespace)) {
      const sel = serviceSelector(svc);
      if (sel && selectsPod(sel, pod)) this.queue.add(keyOf(svc));
    }
  }

  /** true when the cache does not yet show every write this controller made for the Service */
  private stale(key: string, namespace: string | undefined): boolean {
    const mine = this.written.get(key);
    if (!mine) return false;
    for (const [name, rv] of mine) {
      const cached = this.sliceInf.get(namespace, name);
      const seen = rv === 0 ? !cached : !!cached && Number(cached.metadata.resourceVersion) >= rv;
      if (!seen) return true;
      mine.delete(name);
    }
    if (mine.size === 0) this.written.delete(key);
    return false;
  }

  private track(key: string, name: string, rv: number): void {
    let m = this.written.get(key);
    if (!m) this.written.set(key, (m = new Map()));
    m.set(name, rv);
  }

  private async syncService(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.svcInf.get(namespace, name);
    if (!svc) return; // its slices go with it (ownerReference -> garbage collector)
    const selector = serviceSelector(svc);
    if (!selector) return;
    if (this.stale(key, namespace)) {
      this.queue.addAfter(key, 50);
      return;
    }

    const mine = this.sliceInf
      .list(namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[SERVICE_NAME_LABEL] === name &&
          s.metadata.labels?.[MANAGED_BY_LABEL] === SLICE_CONTROLLER_NAME,
      );
    const owned = mine.filter((s) => ownedBy(s, svc) && s.addressType === 'IPv4' && !s.metadata.deletionTimestamp);
    const foreign = mine.filter((s) => !ownedBy(s, svc) || (s.addressType !== 'IPv4' && !s.metadata.deletionTimestamp));

    const desired = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
    for (const pod of this.podInf.list(namespace)) {
      if (!selectsPod(selector, pod) || !shouldPodBeInEndpoints(pod, true)) continue;
      const ep = sliceEndpoint(svc, pod, this.zoneOf(pod.spec?.nodeName));
      if (isIP(ep.addresses[0] ?? '') !== 4) continue;
      const ports = slicePorts(svc, pod);
      const k = portsKey(ports);
      let g = desired.get(k);
      if (!g) desired.set(k, (g = { ports, endpoints: [] }));
      g.endpoints.push(ep);
    }
    const labels = sliceLabels(svc);
    const plan = planSlices(desired, owned, (s) => canonicalJson(s.metadata.labels ?? {}) !== canonicalJson(labels));
    const ownerReferences = [
      { apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true },
    ];
    const opts = { fieldManager: 'endpointslice-controller' };

    for (const s of plan.create) {
      const obj: KubeObject = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { generateName: `${name}-`, namespace, labels, ownerReferences },
        addressType: 'IPv4',
        endpoints: s.endpoints,
        ports: s.ports,
      };
      const made = await this.ctx.storage.create(this.sliceDef, namespace, obj, opts);
      this.track(key, made.metadata.name!, Number(made.metadata.resourceVersion));
    }
    for (const s of plan.update) {
      try {
        const out = await this.ctx.storage.guaranteedUpdate(this.sliceDef, namespace, s.name!, opts, (cur) => {
          cur.metadata.labels = labels;
          cur.endpoints = s.endpoints;
          cur.ports = s.ports;
          return cur;
        });
        this.track(key, s.name!, Number(out.metadata.resourceVersion));
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
        this.queue.addAfter(key, 50);
      }
    }
    for (const n of [...plan.delete, ...foreign.map((s) => s.metadata.name!)]) {
      try {
        await this.ctx.storage.delete(this.sliceDef, namespace, n);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
      this.track(key, n, 0);
    }
  }

  private zoneOf(nodeName: string | undefined): string | undefined {
    if (!nodeName) return undefined;
    return this.nodeInf.get(undefined, nodeName)?.metadata.labels?.[ZONE_LABEL];
  }
}

export function create(ctx: ControllerContext): Controller {
  return new EndpointSliceController(ctx);
}
