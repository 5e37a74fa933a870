// The namespaces/finalize registry object (pkg/registry/core/namespace/storage FinalizeREST):
// a PUT of the Namespace replaces its spec.finalizers and nothing else (the namespace
// controller empties them once the namespace's content is gone). No HTTP here.
import type { KubeObject } from '../../proto/meta.js';
import { isRecord } from '../crd/schema-types.js';
import type { ApiStorage } from '../api/storage.js';
import type { ResourceDef } from '../resources/types.js';

export interface FinalizeRequest {
  name: string;
  /** the decoded Namespace, unchecked */
  body: unknown;
}

/** PUT namespaces/x/finalize: the stored namespace with the body's spec.finalizers ([] when it has none) */
export async function finalizeNamespace(
  storage: ApiStorage,
  def: ResourceDef,
  req: FinalizeRequest,
): Promise<KubeObject> {
  const spec = isRecord(req.body) ? req.body.spec : undefined;
  const finalizers = isRecord(spec) ? spec.finalizers : undefined;
  return storage.guaranteedUpdate(def, undefined, req.name, {}, (cur) => {
    cur.spec = { ...(cur.spec ?? {}), finalizers: Array.isArray(finalizers) ? finalizers : [] };
    return cur;
  });
}
