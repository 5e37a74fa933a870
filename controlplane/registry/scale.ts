// The scale subresource's registry object (ScaleREST of Deployments, ReplicaSets,
// StatefulSets, ReplicationControllers, and a CRD's scale subresource): the autoscaling/v1
// Scale of an object, and a Scale write (PUT or patch) turned into the object's replicas.
// No HTTP here: it takes the storage and the request's parts, returns the Scale or throws ApiError.
import type { KubeObject } from '../../proto/meta.js';
import { formatLabelSelector } from '../../proto/selectors.js';
import { findResults, parseJsonPath } from '../crd/jsonpath.js';
import { isRecord } from '../crd/schema-types.js';
import { ApiError, STALE_OBJECT, badRequest, conflict } from '../api/errors.js';
import { checkTypes } from '../api/field-validation.js';
import { applyPatch, type PatchType } from '../api/patch/apply.js';
import type { ApiStorage, WriteOptions } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import { isReplicationController } from '../resources/replication-controller.js';
import type { ResourceDef } from '../resources/types.js';

/** an autoscaling/v1 Scale as served */
export type ScaleObject = {
  kind: 'Scale';
  apiVersion: 'autoscaling/v1';
  metadata: Pick<KubeObject['metadata'], 'name' | 'namespace' | 'uid' | 'resourceVersion' | 'creationTimestamp'>;
  spec: { replicas: number };
  status: { replicas: number; selector?: string };
};

type ScaledDef = Pick<ResourceDef, 'custom' | 'kind' | 'resource'>;

function scaleMeta(obj: KubeObject): ScaleObject['metadata'] {
  const m = obj.metadata;
  return {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    creationTimestamp: m.creationTimestamp,
  };
}

/** a custom resource's Scale from its CRD's paths (apiextensions-apiserver's scale subresource) */
function customScaleOf(
  obj: KubeObject,
  paths: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string },
): ScaleObject {
  const at = (p: string | undefined): unknown => (p ? findResults(obj, parseJsonPath(p))[0] : undefined);
  const spec = at(paths.specReplicasPath);
  const status = at(paths.statusReplicasPath);
  const selector = at(paths.labelSelectorPath);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: scaleMeta(obj),
    spec: { replicas: typeof spec === 'number' ? spec : 0 },
    status: {
      replicas: typeof status === 'number' ? status : 0,
      ...(typeof selector === 'string' && selector ? { selector } : {}),
    },
  };
}

/** sets the replicas at a custom resource's specReplicasPath (`.spec.replicas`) */
export function setCustomReplicas(obj: KubeObject, path: string, replicas: number): void {
  const keys = path.slice(1).split('.');
  let cur: Record<string, unknown> = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (!isRecord(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = replicas;
}

/** the Scale of an object of `info.def` (shared with the HPA controller, which scales in process) */
export function scaleOf(info: { def: ResourceDef }, obj: KubeObject): ScaleObject {
  const custom = info.def.custom?.scale;
  if (custom) return customScaleOf(obj, custom);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: scaleMeta(obj),
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: {
      replicas: obj.status?.replicas ?? 0,
      selector: formatLabelSelector(
        isReplicationController(info.def) ? { matchLabels: obj.spec?.selector } : obj.spec?.selector,
      ),
    },
  };
}

/** what a patch of a Scale is merged with (its strategic-merge schema is the Scale definition's) */
const scaleDef: ScaledDef = { kind: 'Scale', resource: 'scale' };

export interface ScaleUpdate {
  namespace: string | undefined;
  name: string;
  /** the decoded Scale (PUT) or patch (PATCH), unchecked */
  body: unknown;
  /** the patch's type; absent for a PUT */
  patchType?: PatchType;
  opts: WriteOptions;
}

function invalidReplicas(name: string, replicas: unknown): ApiError {
  const why = `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`;
  return new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: ${why}`, {
    name,
    group: 'autoscaling',
    kind: 'Scale',
    causes: [{ reason: 'FieldValueInvalid', message: why, field: 'spec.replicas' }],
  });
}

/** GET …/scale */
export async function getScale(
  storage: ApiStorage,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
): Promise<ScaleObject> {
  return scaleOf({ def }, await storage.get(def, namespace, name));
}

/** PUT or PATCH …/scale: the object's replicas set from the Scale; 409 on a stale resourceVersion, 422 on bad replicas */
export async function updateScale(storage: ApiStorage, def: ResourceDef, req: ScaleUpdate): Promise<ScaleObject> {
  const { name, body, patchType: type, opts } = req;
  const out = await storage.guaranteedUpdate(
    def,
    req.namespace,
    name,
    { dryRun: opts.dryRun, fieldManager: opts.fieldManager, userAgent: opts.userAgent, managedSubresource: 'scale' },
    (cur) => {
      const scale = scaleOf({ def }, cur);
      const next: unknown = type
        ? applyPatch(type, scale, body, findResource('autoscaling', 'v1', 'scale') ?? scaleDef)
        : body;
      if (!next || typeof next !== 'object') throw badRequest('Scale must be an object');
      const s: { metadata?: unknown; spec?: unknown } = next;
      const rv = isRecord(s.metadata) ? s.metadata.resourceVersion : undefined;
      if (rv && rv !== cur.metadata.resourceVersion) throw conflict(def.resource, name, STALE_OBJECT, def.group);
      checkTypes('Scale', 'v1', s);
      const replicas = (isRecord(s.spec) ? s.spec.replicas : undefined) ?? 0;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
        throw invalidReplicas(name, replicas);
      const custom = def.custom?.scale;
      if (custom) setCustomReplicas(cur, custom.specReplicasPath, replicas);
      else cur.spec = { ...(cur.spec ?? {}), replicas };
      return cur;
    },
  );
  return scaleOf({ def }, out);
}
