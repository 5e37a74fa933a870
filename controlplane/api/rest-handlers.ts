// The resource REST verbs (get, list, watch, create, update, patch, delete,
// deletecollection) over ApiStorage, with kubectl's content negotiation (Tables,
// aggregated watch events) and Kubernetes' query parameters.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import { decodeBody } from './body.js';
import { storageFor } from './converted-storage.js';
import { ApiError, badRequest, methodNotSupported } from './errors.js';
import { checkTypes } from './field-validation.js';
import { apiVersionOf } from './keys.js';
import { patchTypeOf } from './patch/apply.js';
import { parseResourcePath, type RequestInfo } from './request-info.js';
import {
  bool,
  checkPatchOptions,
  dryRun,
  intParam,
  one,
  sendWarnings,
  writeOptions,
  type Query,
} from './query-options.js';
import { parseResourceVersion, type ApiStorage, type DeleteOptions } from './storage.js';
import { handleSubresource, type SubresourceDeps } from './subresources.js';
import {
  parseIncludeObject,
  partialObjectMetadata,
  partialObjectMetadataList,
  toTable,
  wantsMetadataOnly,
  wantsTable,
} from './table.js';
import { serveWatch } from './watch-stream.js';
import { asRequester, type EscalationAuthorizer } from '../authz/escalation.js';
import { userOf } from '../authz/http.js';
import { isReplicationController } from '../resources/replication-controller.js';
import { listQuery, type ListCache } from './list-cache.js';

export interface RestDeps extends SubresourceDeps {
  storage: ApiStorage;
  metrics?: { watchOpened(): void; watchClosed(): void };
  /** RBAC: the requesting user reaches the escalation checks of the RBAC kinds' writes */
  authorizer?: EscalationAuthorizer;
  /** lists answered from memory (list-cache.ts) */
  listCache?: ListCache;
}

function withTypeMeta(info: RequestInfo, obj: KubeObject): KubeObject {
  return { apiVersion: apiVersionOf(info.def), kind: info.def.kind, ...obj };
}

/** the object or, when kubectl asks for a Table, a one-row Table */
function render(req: FastifyRequest, info: RequestInfo, obj: KubeObject) {
  if (wantsTable(req.headers.accept)) {
    const q = req.query as Query;
    return toTable(info.def, [obj], {
      include: parseIncludeObject(one(q, 'includeObject')),
      resourceVersion: obj.metadata.resourceVersion,
    });
  }
  if (wantsMetadataOnly(req.headers.accept)) return partialObjectMetadata(obj);
  return withTypeMeta(info, obj);
}

function deleteOptions(req: FastifyRequest, q: Query): DeleteOptions {
  let body: Record<string, unknown> = {};
  const raw = req.body as Buffer | undefined;
  if (raw && raw.length) {
    const b = decodeBody(req.headers['content-type'], raw);
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      throw badRequest('DeleteOptions must be a JSON object');
    body = b as Record<string, unknown>;
  }
  const opts: DeleteOptions = {};
  checkTypes('DeleteOptions', 'v1', body);
  const bodyGrace = typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined;
  const grace = intParam(q, 'gracePeriodSeconds') ?? bodyGrace;
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  let policy = one(q, 'propagationPolicy') ?? (body.propagationPolicy as string | undefined);
  const orphan = one(q, 'orphanDependents') ?? (body.orphanDependents as boolean | undefined);
  if (policy === undefined && orphan !== undefined) policy = String(orphan) === 'true' ? 'Orphan' : 'Background';
  if (policy !== undefined) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      throw badRequest(
        `DeleteOptions.propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
      );
    }
    opts.propagationPolicy = policy;
  }
  if (body.preconditions && typeof body.preconditions === 'object')
    opts.preconditions = body.preconditions as DeleteOptions['preconditions'];
  opts.dryRun = dryRun(q) || (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
  return opts;
}

export async function handleResource(
  deps: RestDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  group: string,
  version: string,
  rest: string,
): Promise<unknown> {
  const info = parseResourcePath(group, version, rest);
  // another served version of a stored kind (autoscaling/v1 HPAs) converts on the way in and out
  const storage = storageFor(deps.storage, info.def);
  if (storage !== deps.storage) deps = { ...deps, storage };
  const { def, namespace, name } = info;
  const q = req.query as Query;
  const method = req.method;
  // a deprecated custom resource version: kube-apiserver warns on every request to it
  const deprecated = def.custom?.deprecationWarning;
  if (deprecated) reply.header('Warning', `299 - ${JSON.stringify(deprecated)}`);

  if (def.namespaced && namespace === undefined && (method !== 'GET' || name !== undefined)) {
    // a namespaced kind addressed without a namespace: only cluster-wide list/watch exist
    if (method === 'POST' && name === undefined) throw methodNotSupported(def.resource, 'create');
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  }

  if (info.subresource) return handleSubresource(deps, req, reply, info);

  switch (method) {
    case 'GET': {
      if (name !== undefined) {
        if (bool(q, 'watch')) return watch(deps, req, reply, info, `metadata.name=${name}`);
        return render(req, info, await storage.get(def, namespace, name));
      }
      if (bool(q, 'watch')) return watch(deps, req, reply, info);
      parseResourceVersion(one(q, 'resourceVersion'));
      const cached =
        storage === deps.storage
          ? await deps.listCache?.listJson(def, namespace, listQuery(q, intParam(q, 'limit')), req.headers.accept)
          : undefined;
      if (cached !== undefined) return reply.type('application/json; charset=utf-8').send(cached);
      const list = await storage.list(def, namespace, {
        labelSelector: one(q, 'labelSelector'),
        fieldSelector: one(q, 'fieldSelector'),
        limit: intParam(q, 'limit'),
        continue: one(q, 'continue'),
      });
      if (wantsTable(req.headers.accept)) {
        return toTable(def, list.items, {
          include: parseIncludeObject(one(q, 'includeObject')),
          resourceVersion: list.metadata.resourceVersion,
          continue: list.metadata.continue,
        });
      }
      if (wantsMetadataOnly(req.headers.accept)) return partialObjectMetadataList(list);
      return list;
    }
    case 'POST': {
      if (name !== undefined) throw methodNotSupported(def.resource, 'create');
      const body = decodeBody(req.headers['content-type'], req.body as Buffer);
      const opts = writeOptions(q, req);
      const created = await storage.create(def, namespace, body, opts);
      sendWarnings(reply, opts);
      reply.code(201);
      return withTypeMeta(info, created);
    }
    case 'PUT': {
      if (name === undefined) throw methodNotSupported(def.resource, 'update');
      const body = decodeBody(req.headers['content-type'], req.body as Buffer);
      const opts = writeOptions(q, req);
      const updated = await storage.update(def, namespace, name, body, opts);
      sendWarnings(reply, opts);
      return withTypeMeta(info, updated);
    }
    case 'PATCH': {
      if (name === undefined) throw methodNotSupported(def.resource, 'patch');
      const type = patchTypeOf(req.headers['content-type']);
      const body = decodeBody(req.headers['content-type'], req.body as Buffer);
      const opts = writeOptions(q, req);
      checkPatchOptions(type, q, opts);
      const r = await storage.patch(def, namespace, name, type, body, opts);
      sendWarnings(reply, opts);
      if (r.created) reply.code(201);
      return withTypeMeta(info, r.object);
    }
    case 'DELETE': {
      if (name === undefined) {
        const opts = deleteOptions(req, q);
        if (opts.propagationPolicy === undefined && isReplicationController(def)) opts.propagationPolicy = 'Orphan';
        const list = await storage.deleteCollection(
          def,
          namespace,
          { labelSelector: one(q, 'labelSelector'), fieldSelector: one(q, 'fieldSelector') },
          opts,
        );
        return list;
      }
      const opts = deleteOptions(req, q);
      // rcStrategy.DefaultGarbageCollectionPolicy: core/v1 ReplicationControllers orphan their
      // pods unless told otherwise (or already being deleted in the foreground)
      if (opts.propagationPolicy === undefined && isReplicationController(def)) {
        const cur = await storage.tryGet(def, namespace, name);
        if (!cur?.metadata.finalizers?.includes('foregroundDeletion')) opts.propagationPolicy = 'Orphan';
      }
      const r = await storage.delete(def, namespace, name, opts);
      reply.code(r.deleted ? 200 : 202);
      return withTypeMeta(info, r.object);
    }
    default:
      throw methodNotSupported(def.resource, method.toLowerCase());
  }
}

async function watch(
  deps: RestDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  info: RequestInfo,
  extraField?: string,
): Promise<void> {
  const q = req.query as Query;
  const fieldSelector = [one(q, 'fieldSelector'), extraField].filter(Boolean).join(',') || undefined;
  await serveWatch(deps.storage, req, reply, {
    def: info.def,
    namespace: info.namespace,
    query: {
      resourceVersion: one(q, 'resourceVersion'),
      labelSelector: one(q, 'labelSelector'),
      fieldSelector,
      allowWatchBookmarks: bool(q, 'allowWatchBookmarks'),
    },
    table: wantsTable(req.headers.accept) ? { include: parseIncludeObject(one(q, 'includeObject')) } : undefined,
    metadataOnly: wantsMetadataOnly(req.headers.accept),
    timeoutSeconds: intParam(q, 'timeoutSeconds'),
    onOpen: deps.metrics?.watchOpened,
    onClose: deps.metrics?.watchClosed,
  });
}

export function registerResourceRoutes(app: FastifyInstance, deps: RestDeps): void {
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  app.route({
    method: [...methods],
    url: '/api/v1/*',
    handler: async (req, reply) => handleResource(deps, req, reply, '', 'v1', (req.params as { '*': string })['*']),
  });
  app.route({
    method: [...methods],
    url: '/apis/:group/:version/*',
    handler: async (req, reply) => {
      const p = req.params as { group: string; version: string; '*': string };
      // RBAC writes: the requesting user reaches the escalation checks (controlplane/authz/escalation.ts)
      if (p.group === 'rbac.authorization.k8s.io' && req.method !== 'GET')
        return asRequester(userOf(req), deps.authorizer, () =>
          handleResource(deps, req, reply, p.group, p.version, p['*']),
        );
      return handleResource(deps, req, reply, p.group, p.version, p['*']);
    },
  });
}
