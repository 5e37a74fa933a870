// The pods/eviction registry object (pkg/registry/core/pod/storage EvictionREST): a
// policy/v1 Eviction deletes the pod once admission (PodDisruptionBudgets,
// controlplane/api/eviction-admission.ts) allows it. No HTTP here: it takes the storage and
// the request's parts and returns the Status, or throws ApiError (429 when a budget refuses).
import type { KubeObject, Status } from '../../proto/meta.js';
import { isRecord } from '../crd/schema-types.js';
import { badRequest } from '../api/errors.js';
import { checkTypes } from '../api/field-validation.js';
import type { ApiStorage, DeleteOptions } from '../api/storage.js';
import type { ResourceDef } from '../resources/types.js';
import { successStatus } from './status.js';

/** admission for evictions (PodDisruptionBudgets): throws ApiError 429 to refuse */
export type EvictionAdmission = (pod: KubeObject, opts: { dryRun: boolean }) => Promise<void>;

export interface EvictionRequest {
  namespace: string | undefined;
  /** the pod's name (the URL's) */
  name: string;
  /** the decoded Eviction, unchecked */
  body: unknown;
  dryRun: boolean;
}

/** POST pods/x/eviction: 201 Success once the pod is deleted (or being deleted) */
export async function createEviction(
  storage: ApiStorage,
  podDef: ResourceDef,
  req: EvictionRequest,
  admit?: EvictionAdmission,
): Promise<Status> {
  const { body, name } = req;
  const meta = isRecord(body) ? body.metadata : undefined;
  const named = isRecord(meta) ? meta.name : undefined;
  if (named && named !== name) throw badRequest('name in URL does not match name in Eviction object');
  const pod = await storage.get(podDef, req.namespace, name);
  await admit?.(pod, { dryRun: req.dryRun });
  checkTypes('Eviction', 'v1', body);
  const given = isRecord(body) ? body.deleteOptions : undefined;
  const d = isRecord(given) ? given : {};
  await storage.delete(podDef, req.namespace, name, {
    gracePeriodSeconds: typeof d.gracePeriodSeconds === 'number' ? d.gracePeriodSeconds : undefined,
    preconditions: (d.preconditions as DeleteOptions['preconditions']) ?? undefined,
    dryRun: req.dryRun,
  });
  return successStatus(201);
}
