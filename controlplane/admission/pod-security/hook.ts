// The PodSecurity validating admission plugin on the one write path (api/storage.ts calls
// podSecurityAdmission after validation, before ResourceQuota, as kube-apiserver orders its
// plugins): skiff-server installs it per store with the --pod-security-* settings; stores
// without it (most unit tests) admit as before. Warnings go to the client as Warning headers,
// audit annotations to the request's audit event, a refusal is thrown as the ApiError.
import type { KubeObject } from '../../../proto/meta.js';
import type { ApiStorage, WriteOptions } from '../../api/storage.js';
import { findResource } from '../../resources/index.js';
import type { ResourceDef } from '../../resources/types.js';
import type { Store } from '../../store/types.js';
import { applies, validate, type PodSecurityConfig, type PodSecurityReaders } from './admission.js';
import { AUDIT_ANNOTATION_PREFIX, parseDefaultPolicy } from './policy.js';

const installed = new WeakMap<Store, PodSecurityConfig>();

/** the plugin's configuration from the server flags; throws on an invalid --pod-security-default */
export function podSecurityConfig(flags: {
  podSecurityDefault?: string;
  podSecurityExemptNamespaces?: string[];
}): PodSecurityConfig {
  return {
    defaults: parseDefaultPolicy(flags.podSecurityDefault),
    exemptNamespaces: flags.podSecurityExemptNamespaces ?? [],
  };
}

/** turn the plugin on for writes to this store (skiff-server) */
export function installPodSecurity(store: Store, cfg: PodSecurityConfig): () => void {
  installed.set(store, cfg);
  return () => {
    if (installed.get(store) === cfg) installed.delete(store);
  };
}

function readers(storage: ApiStorage): PodSecurityReaders {
  const nsDef = findResource('', 'v1', 'namespaces')!;
  const podDef = findResource('', 'v1', 'pods')!;
  return {
    namespace: (name) => storage.tryGet(nsDef, undefined, name),
    pods: async (ns) => (await storage.list(podDef, ns)).items,
  };
}

/** the plugin's Validate for one create (`old` undefined) or update */
export async function podSecurityAdmission(
  storage: ApiStorage,
  def: ResourceDef,
  obj: KubeObject,
  old: KubeObject | undefined,
  opts: WriteOptions,
  subresource?: string,
): Promise<void> {
  const cfg = installed.get(storage.store);
  if (!cfg || !applies(def.group, def.resource)) return;
  const isNamespace = def.group === '' && def.resource === 'namespaces';
  const name = obj.metadata.name ?? '';
  const res = await validate(
    cfg,
    {
      operation: old ? 'UPDATE' : 'CREATE',
      group: def.group,
      resource: def.resource,
      kind: def.kind,
      subresource: subresource ?? '',
      namespace: isNamespace ? (old ? name : '') : (obj.metadata.namespace ?? ''),
      name,
      object: obj,
      oldObject: old,
    },
    readers(storage),
  );
  for (const w of res.warnings) if (opts.warnings && !opts.warnings.includes(w)) opts.warnings.push(w);
  if (opts.auditAnnotations)
    for (const [k, v] of Object.entries(res.auditAnnotations)) opts.auditAnnotations[AUDIT_ANNOTATION_PREFIX + k] = v;
  if (!res.allowed && res.error) throw res.error;
}
