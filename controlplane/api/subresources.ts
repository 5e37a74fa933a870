// Subresources over HTTP: status, and the thin wiring of the registry objects in
// controlplane/registry/ (scale, binding, eviction, namespace finalize), and the pod
// streams (log, exec, attach, port-forward) which the agent gateway serves over the node's
// connection. Decoding the body and the query, the method checks and the reply's code
// are here; what a write does is in the registry objects.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import { createBinding } from '../registry/binding.js';
import { createEviction, type EvictionAdmission } from '../registry/eviction.js';
import { finalizeNamespace } from '../registry/finalize.js';
import { getScale, updateScale } from '../registry/scale.js';
import { decodeBody } from './body.js';
import { ApiError, methodNotSupported } from './errors.js';
import { apiVersionOf } from './keys.js';
import { patchTypeOf } from './patch/apply.js';
import { checkPatchOptions, sendWarnings, writeOptions, type Query } from './query-options.js';
import type { RequestInfo } from './request-info.js';
import type { ApiStorage } from './storage.js';

export interface PodStreams {
  /** serve GET pods/x/log (chunked text) */
  log(req: FastifyRequest, reply: FastifyReply, pod: KubeObject): Promise<void>;
  /** exec/attach/portforward arrive as WebSocket upgrades handled by the gateway; plain requests land here */
  stream(
    req: FastifyRequest,
    reply: FastifyReply,
    pod: KubeObject,
    kind: 'exec' | 'attach' | 'portforward',
  ): Promise<void>;
}

export interface SubresourceDeps {
  storage: ApiStorage;
  streams?: PodStreams;
  /** admission hook for evictions (PodDisruptionBudgets); throws ApiError 429 to refuse */
  admitEviction?: EvictionAdmission;
}

/** the request's body, decoded by its Content-Type (400 when it does not parse, 415 for an unknown type) */
function bodyOf(req: FastifyRequest): unknown {
  return decodeBody(req.headers['content-type'], req.body as Buffer);
}

export async function handleSubresource(
  deps: SubresourceDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  info: RequestInfo,
): Promise<unknown> {
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
      const body = bodyOf(req);
      let out: KubeObject;
      if (method === 'PUT') out = await storage.update(def, namespace, name, body, opts, 'status');
      else if (method === 'PATCH') {
        const type = patchTypeOf(req.headers['content-type']);
        checkPatchOptions(type, q, opts);
        out = (await storage.patch(def, namespace, name, type, body, opts, 'status')).object;
      } else throw methodNotSupported(`${def.resource}/status`, method.toLowerCase());
      sendWarnings(reply, opts);
      return typed(out);
    }
    case 'scale': {
      if (method === 'GET') return getScale(storage, def, namespace, name);
      if (method !== 'PUT' && method !== 'PATCH')
        throw methodNotSupported(`${def.resource}/scale`, method.toLowerCase());
      const body = bodyOf(req);
      const opts = writeOptions(q, req);
      const patchType = method === 'PATCH' ? patchTypeOf(req.headers['content-type']) : undefined;
      if (patchType !== undefined) checkPatchOptions(patchType, q, opts);
      return updateScale(storage, def, { namespace, name, body, patchType, opts });
    }
    case 'binding': {
      if (method !== 'POST') throw methodNotSupported('pods/binding', method.toLowerCase());
      const body = bodyOf(req);
      const status = await createBinding(storage, {
        namespace: namespace!,
        name,
        body,
        dryRun: writeOptions(q).dryRun,
      });
      reply.code(status.code);
      return status;
    }
    case 'eviction': {
      if (method !== 'POST') throw methodNotSupported('pods/eviction', method.toLowerCase());
      const body = bodyOf(req);
      const status = await createEviction(
        storage,
        def,
        { namespace, name, body, dryRun: writeOptions(q).dryRun ?? false },
        deps.admitEviction,
      );
      reply.code(status.code);
      return status;
    }
    case 'finalize': {
      if (method !== 'PUT') throw methodNotSupported('namespaces/finalize', method.toLowerCase());
      return typed(await finalizeNamespace(storage, def, { name, body: bodyOf(req) }));
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
