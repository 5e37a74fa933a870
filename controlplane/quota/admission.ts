// The LimitRanger and ResourceQuota admission plugins on skiff's one write path
// (api/storage.ts), reading LimitRanges and quotas from watch-fed caches:
// - mutatingAdmission: before validation on create: LimitRanger's container defaults.
// - validatingAdmission: after validation on every namespaced create and main-resource
//   update: LimitRanger's checks for pods and claims, then ResourceQuota: the namespace's
//   quotas are re-read and charged with a compare-and-swap status write, one request per
//   namespace at a time (the upstream evaluator's per-namespace work queue), retried on
//   conflict from the quotas' current state, so two creates never both take the last slot.
// Map of the code base: ARCHITECTURE.md, "Where each rule lives".
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import type { ApiStorage, WriteOptions } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';
import type { Store } from '../store/types.js';
import { checkRequest } from './check.js';
import { evaluatorFor } from './evaluators.js';
import { mutatePod, validateClaim, validatePod } from './limit-ranger.js';
import { namespaceCache } from './namespace-cache.js';

const RETRIES = 3;

/** admission.NewForbidden: `<resource> "<name>" is forbidden: <why>` */
export function admissionForbidden(def: ResourceDef, name: string, why: string): ApiError {
  const qualified = def.group ? `${def.resource}.${def.group}` : def.resource;
  return new ApiError(403, 'Forbidden', `${qualified} "${name}" is forbidden: ${why}`, {
    name,
    ...(def.group ? { group: def.group } : {}),
    kind: def.resource,
  });
}

function nameOf(obj: KubeObject): string {
  return obj.metadata.name || obj.metadata.generateName || 'Unknown';
}

function cached(storage: ApiStorage, resource: string, ns: string): Promise<KubeObject[]> {
  return namespaceCache(storage.store, findResource('', 'v1', resource)!).inNamespace(ns);
}

/** the mutating plugins on create: LimitRanger.Admit fills pods' defaults from every LimitRange of the namespace */
export async function mutatingAdmission(storage: ApiStorage, def: ResourceDef, obj: KubeObject): Promise<void> {
  if (def.group !== '' || def.resource !== 'pods' || !obj.metadata.namespace) return;
  for (const lr of await cached(storage, 'limitranges', obj.metadata.namespace)) mutatePod(lr, obj);
}

async function validateLimitRanges(
  storage: ApiStorage,
  def: ResourceDef,
  obj: KubeObject,
  old: KubeObject | undefined,
): Promise<void> {
  if (def.group !== '' || (def.resource !== 'pods' && def.resource !== 'persistentvolumeclaims')) return;
  // pods are checked on create only (their resources are immutable); objects being deleted never
  if (def.resource === 'pods' && old) return;
  if (old?.metadata.deletionTimestamp) return;
  for (const lr of await cached(storage, 'limitranges', obj.metadata.namespace!)) {
    const why = def.resource === 'pods' ? validatePod(lr, obj) : validateClaim(lr, obj);
    if (why) throw admissionForbidden(def, nameOf(obj), why);
  }
}

/** per store and namespace, the tail of the chain of quota evaluations */
const queues = new WeakMap<Store, Map<string, Promise<void>>>();

function inNamespaceQueue<T>(store: Store, ns: string, fn: () => Promise<T>): Promise<T> {
  let m = queues.get(store);
  if (!m) queues.set(store, (m = new Map()));
  const run = (m.get(ns) ?? Promise.resolve()).then(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  m.set(ns, tail);
  void tail.then(() => {
    if (m!.get(ns) === tail) m!.delete(ns);
  });
  return run;
}

async function admitQuota(
  storage: ApiStorage,
  def: ResourceDef,
  obj: KubeObject,
  old: KubeObject | undefined,
  opts: WriteOptions,
): Promise<void> {
  const ns = obj.metadata.namespace;
  if (!def.namespaced || !ns) return;
  const e = evaluatorFor(def.group, def.resource);
  const operation = old ? 'UPDATE' : 'CREATE';
  if (!e.handles(operation)) return;
  const quotaDef = findResource('', 'v1', 'resourcequotas')!;
  // most namespaces have no quota: no queueing for them
  const names = (await cached(storage, 'resourcequotas', ns)).map((q) => q.metadata.name!);
  if (names.length === 0) return;
  const fresh = async (which: string[]): Promise<KubeObject[]> =>
    (await Promise.all(which.map((n) => storage.tryGet(quotaDef, ns, n)))).filter((q): q is KubeObject => !!q);
  await inNamespaceQueue(storage.store, ns, async () => {
    let quotas = await fresh(names);
    for (let attempt = 0; quotas.length > 0; attempt++) {
      const res = checkRequest(quotas, e, { operation, obj, old, now: Date.now() });
      if (!res.ok) throw admissionForbidden(def, nameOf(obj), res.reason);
      if (opts.dryRun || res.changed.length === 0) return;
      const failed: string[] = [];
      let lastErr: unknown;
      for (const i of res.changed) {
        const q = res.quotas[i]!;
        try {
          await storage.update(quotaDef, ns, q.metadata.name!, q, {}, 'status');
        } catch (err) {
          failed.push(q.metadata.name!);
          lastErr = err;
        }
      }
      if (failed.length === 0) return;
      if (attempt >= RETRIES) throw lastErr;
      // re-check only the quotas whose write lost the race, from their current state
      quotas = await fresh(failed);
    }
  });
}

/** the validating admission plugins, in kube-apiserver's order: LimitRanger, ResourceQuota */
export async function validatingAdmission(
  storage: ApiStorage,
  def: ResourceDef,
  obj: KubeObject,
  old: KubeObject | undefined,
  opts: WriteOptions,
): Promise<void> {
  if (!def.namespaced) return;
  await validateLimitRanges(storage, def, obj, old);
  await admitQuota(storage, def, obj, old, opts);
}
