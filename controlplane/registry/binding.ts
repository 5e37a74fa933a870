// The pods/binding registry object (pkg/registry/core/pod/storage BindingREST): the
// scheduler's one write, assigning a pod to a node, shared by the REST subresource
// (controlplane/api/subresources.ts) and the in-process scheduler. No HTTP here: it takes
// the storage and the request's parts and returns the Status, or throws ApiError.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { rfc3339 } from '../../proto/api/time.js';
import type { PodCondition } from '../../proto/api/types.gen.js';
import type { KubeObject, Status } from '../../proto/meta.js';
import { isRecord } from '../crd/schema-types.js';
import { ApiError, conflict } from '../api/errors.js';
import { checkTypes } from '../api/field-validation.js';
import type { ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import { successStatus } from './status.js';

export interface BindingRequest {
  namespace: string;
  /** the pod's name (the URL's) */
  name: string;
  /** the decoded Binding, unchecked */
  body: unknown;
  dryRun?: boolean;
}

/** the target node a Binding names: 422 Required without one */
export function bindingTarget(name: string, body: unknown): string {
  const node = isRecord(body) && isRecord(body.target) ? body.target.name : undefined;
  if (!node) {
    throw new ApiError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`, {
      name,
      kind: 'Binding',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }],
    });
  }
  if (typeof node !== 'string') checkTypes('Binding', 'v1', body); // a 400 as the decoder gives
  return String(node);
}

/** POST pods/x/binding: 201 Success, 409 when the pod is bound already or being deleted */
export async function createBinding(storage: ApiStorage, req: BindingRequest): Promise<Status> {
  const node = bindingTarget(req.name, req.body);
  await bindPod(storage, req.namespace, req.name, node, req.dryRun ?? false);
  return successStatus(201);
}

/** the condition the binding adds: its lastProbeTime is null, as kube-apiserver writes the zero time */
type ScheduledCondition = Omit<PodCondition, 'lastProbeTime'> & { lastProbeTime: null };

/** The binding write: spec.nodeName and a PodScheduled=True condition, once. */
export async function bindPod(
  storage: ApiStorage,
  namespace: string,
  name: string,
  node: string,
  dryRun = false,
): Promise<KubeObject> {
  const podDef = findResource('', 'v1', 'pods')!;
  return storage.guaranteedUpdate(
    podDef,
    namespace,
    name,
    { dryRun },
    (cur) => {
      if (cur.metadata.deletionTimestamp)
        throw conflict('pods', name, 'pod is being deleted, cannot be assigned to a host');
      const bound: unknown = cur.spec?.nodeName;
      if (bound) throw conflict('pods', name, `pod ${name} is already assigned to node "${String(bound)}"`);
      // cur is guaranteedUpdate's own copy for this attempt: changed in place
      const next = cur;
      next.spec.nodeName = node;
      const earlier: PodCondition[] = next.status?.conditions ?? [];
      const conds: (PodCondition | ScheduledCondition)[] = earlier.filter((c) => c.type !== 'PodScheduled');
      conds.push({
        type: 'PodScheduled',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: rfc3339(new Date()),
      });
      next.status = { ...(next.status ?? {}), conditions: conds };
      return next;
    },
    'binding',
  );
}
