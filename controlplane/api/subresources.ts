// Subresources: status, scale (autoscaling/v1 Scale), binding (the scheduler's write),
// eviction (drain), namespace finalize, and the pod streams (log, exec, attach,
// port-forward) which the agent gateway serves over the node's connection.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import { clone } from '../../proto/canonical.js';
import { formatLabelSelector } from '../../proto/selectors.js';
import { decodeBody } from './body.js';
import { ApiError, STALE_OBJECT, badRequest, conflict, methodNotSupported } from './errors.js';
import { apiVersionOf } from './keys.js';
import { applyPatch, patchTypeOf } from './patch/apply.js';
import { checkTypes } from './field-validation.js';
import type { RequestInfo } from './request-info.js';
import { rfc3339, type ApiStorage } from './storage.js';
import { checkPatchOptions, writeOptions, sendWarnings } from './rest-handlers.js';
import { findResource } from '../resources/index.js';
import { findResults, parseJsonPath } from '../crd/jsonpath.js';
import { isReplicationController } from '../resources/replication-controller.js';

export interface PodStreams {
  /** serve GET pods/x/log (chunked text) */
  log(req: FastifyRequest, reply: FastifyReply, pod: KubeObject): Promise<void>;
  /** exec/attach/portforward arrive as WebSocket upgrades handled by the gateway; plain requests land here */
  stream(req: FastifyRequest, reply: FastifyReply, pod: KubeObject, kind: 'exec' | 'attach' | 'portforward'): Promise<void>;
}

export interface SubresourceDeps {
  storage: ApiStorage;
  streams?: PodStreams;
  /** admission hook for evictions (PodDisruptionBudgets); throws ApiError 429 to refuse */
  admitEviction?: (pod: KubeObject, opts: { dryRun: boolean }) => Promise<void>;
}

type Query = Record<string, string | string[] | undefined>;

function successStatus(code: number) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
}

/** a custom resource's Scale from its CRD's paths (apiextensions-apiserver's scale subresource) */
function customScaleOf(obj: KubeObject, paths: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string }) {
  const at = (p: string | undefined): unknown => (p ? findResults(obj, parseJsonPath(p))[0] : undefined);
  const spec = at(paths.specReplicasPath);
  const status = at(paths.statusReplicasPath);
  const selector = at(paths.labelSelectorPath);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
    spec: { replicas: typeof spec === 'number' ? spec : 0 },
    status: { replicas: typeof status === 'number' ? status : 0, ...(typeof selector === 'string' && selector ? { selector } : {}) },
  };
}

/** sets the replicas at a custom resource's specReplicasPath (`.spec.replicas`) */
export function setCustomReplicas(obj: KubeObject, path: string, replicas: number): void {
  const keys = path.slice(1).split('.');
  let cur: Record<string, unknown> = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (!next || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = replicas;
}

/** the Scale of an object of `info.def` (shared with the HPA controller, which scales in process) */
export function scaleOf(info: Pick<RequestInfo, 'def'>, obj: KubeObject) {
  const custom = info.def.custom?.scale;
  if (custom) return customScaleOf(obj, custom);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector: formatLabelSelector(isReplicationController(info.def) ? { matchLabels: obj.spec?.selector } : obj.spec?.selector) },
  };
}

const scaleDef = { kind: 'Scale', resource: 'scale', group: 'autoscaling', version: 'v1' };

export async function handleSubresource(deps: SubresourceDeps, req: FastifyRequest, reply: FastifyReply, info: RequestInfo): Promise<unknown> {
  const { storage } = deps;
  const { def, namespace } = info;
  const name = info.name!;
  const sub = info.subresource!;
  const q = req.query as Query;
  const method = req.method;
  const typed = (o: KubeObject) => ({ apiVersion: apiVersionOf(def), kind: def.kind, ...o });

  switch (sub) {
    case 'status': {
      if (method === 'GET') return typed(await storage.get(def, namespace, name));
      const opts = writeOptions(q, req);
      const body = decodeBody(req.headers['content-type'], req.body as Buffer);
      let out: KubeObject;
      if (method === 'PUT') out = await storage.update(def, namespace, name, body, opts, 'status');
      else if (method === 'PATCH') {
        const type = patchTypeOf(req.headers['content-type']);
        checkPatchOptions(type, q, opts);
        out = (await storage.patch(def, namespace, name, type, body, opts, 'status')).object;
      }
      else throw methodNotSupported(`${def.resource}/status`, method.toLowerCase());
      sendWarnings(reply, opts);
      return typed(out);
    }
    case 'scale': {
      if (method === 'GET') return scaleOf(info, await storage.get(def, namespace, name));
      if (method !== 'PUT' && method !== 'PATCH') throw methodNotSupported(`${def.resource}/scale`, method.toLowerCase());
      const body = decodeBody(req.headers['content-type'], req.body as Buffer);
      const opts = writeOptions(q, req);
      const type = method === 'PATCH' ? patchTypeOf(req.headers['content-type']) : undefined;
      if (type !== undefined) checkPatchOptions(type, q, opts);
      const out = await storage.guaranteedUpdate(def, namespace, name, { dryRun: opts.dryRun, fieldManager: opts.fieldManager, userAgent: opts.userAgent, managedSubresource: 'scale' }, (cur) => {
        const scale = scaleOf(info, cur);
        const next = type ? applyPatch(type, scale as unknown as KubeObject, body, findResource('autoscaling', 'v1', 'scale') ?? (scaleDef as never)) : body;
        const s = next as { metadata?: { resourceVersion?: string }; spec?: { replicas?: unknown } };
        if (!s || typeof s !== 'object') throw badRequest('Scale must be an object');
        const rv = s.metadata?.resourceVersion;
        if (rv && rv !== cur.metadata.resourceVersion) throw conflict(def.resource, name, STALE_OBJECT, def.group);
        checkTypes('Scale', 'v1', s);
        const replicas = s.spec?.replicas ?? 0;
        if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
          throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, {
            name, group: 'autoscaling', kind: 'Scale', causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, field: 'spec.replicas' }],
          });
        }
        const custom = def.custom?.scale;
        if (custom) setCustomReplicas(cur, custom.specReplicasPath, replicas);
        else cur.spec = { ...(cur.spec ?? {}), replicas };
        return cur;
      });
      return scaleOf(info, out);
    }
    case 'binding': {
      if (method !== 'POST') throw methodNotSupported('pods/binding', method.toLowerCase());
      const body = decodeBody(req.headers['content-type'], req.body as Buffer) as { target?: { name?: string; kind?: string } };
      const node = body?.target?.name;
      if (!node) throw new ApiError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`, { name, kind: 'Binding', causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }] });
      await bindPod(storage, namespace!, name, node, writeOptions(q).dryRun);
      reply.code(201);
      return successStatus(201);
    }
    case 'eviction': {
      if (method !== 'POST') throw methodNotSupported('pods/eviction', method.toLowerCase());
      const body = decodeBody(req.headers['content-type'], req.body as Buffer) as { metadata?: { name?: string }; deleteOptions?: Record<string, unknown> };
      if (body?.metadata?.name && body.metadata.name !== name) throw badRequest(`name in URL does not match name in Eviction object`);
      const pod = await storage.get(def, namespace, name);
      await deps.admitEviction?.(pod, { dryRun: writeOptions(q).dryRun ?? false });
      checkTypes('Eviction', 'v1', body);
      const d = body?.deleteOptions ?? {};
      await storage.delete(def, namespace, name, {
        gracePeriodSeconds: typeof d.gracePeriodSeconds === 'number' ? d.gracePeriodSeconds : undefined,
        preconditions: (d.preconditions as { uid?: string }) ?? undefined,
        dryRun: writeOptions(q).dryRun,
      });
      reply.code(201);
      return successStatus(201);
    }
    case 'finalize': {
      if (method !== 'PUT') throw methodNotSupported('namespaces/finalize', method.toLowerCase());
      const body = decodeBody(req.headers['content-type'], req.body as Buffer) as KubeObject;
      const finalizers = body?.spec?.finalizers;
      const out = await storage.guaranteedUpdate(def, namespace, name, {}, (cur) => {
        cur.spec = { ...(cur.spec ?? {}), finalizers: Array.isArray(finalizers) ? finalizers : [] };
        return cur;
      });
      return typed(out);
    }
    case 'log':
    case 'exec':
    case 'attach':
    case 'portforward': {
      const pod = await storage.get(def, namespace, name);
      if (!deps.streams) throw new ApiError(503, 'ServiceUnavailable', `${sub} is not available: no agent gateway`);
      if (sub === 'log') {
        if (method !== 'GET') throw methodNotSupported('pods/log', method.toLowerCase());
        await deps.streams.log(req, reply, pod);
        return reply;
      }
      await deps.streams.stream(req, reply, pod, sub);
      return reply;
    }
    default:
      throw methodNotSupported(`${def.resource}/${sub}`, method.toLowerCase());
  }
}

/** The binding write, shared by the REST subresource and the in-process scheduler. */
export async function bindPod(storage: ApiStorage, namespace: string, name: string, node: string, dryRun = false): Promise<KubeObject> {
  const podDef = findResource('', 'v1', 'pods')!;
  return storage.guaranteedUpdate(podDef, namespace, name, { dryRun }, (cur) => {
    if (cur.metadata.deletionTimestamp) throw conflict('pods', name, 'pod is being deleted, cannot be assigned to a host');
    if (cur.spec?.nodeName) throw conflict('pods', name, `pod ${name} is already assigned to node "${cur.spec.nodeName}"`);
    const next = clone(cur);
    next.spec.nodeName = node;
    const conds: { type: string }[] = (next.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(new Date()) } as never);
    next.status = { ...(next.status ?? {}), conditions: conds };
    return next;
  }, 'binding');
}
