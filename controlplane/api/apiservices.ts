// apiregistration.k8s.io/v1 APIService objects, read-only and computed at read time: one
// per group-version the server serves (kube-aggregator's autoregister of the local
// APIServices, names `<version>.<group>`, `v1` for core), with kube-apiserver's
// apiVersionPriorities (pkg/controlplane/apiserver/aggregator.go), status Available=True
// reason Local. Served CRD group-versions are listed too (crdregistration_controller:
// groupPriorityMinimum 1000, versionPriority 100, label automanaged=true). Writes are
// refused with 405 MethodNotAllowed: skiff aggregates no external API servers.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import { customResourceDefsServed } from '../crd/registry.js';
import { ageOf } from '../resources/age.js';
import { ageColumn, col, nameColumn } from '../resources/columns.js';
import type { ResourceDef } from '../resources/types.js';
import { groupVersions } from './discovery.js';
import { ApiError, notFound } from './errors.js';
import { parseIncludeObject, toTable, wantsTable } from './table.js';
import { queryBool } from '../../proto/query-bool.js';
import { rfc3339 } from '../../proto/api/time.js';

const GROUP = 'apiregistration.k8s.io';
const AUTOMANAGED = 'kube-aggregator.kubernetes.io/automanaged';

/** [groupPriorityMinimum, versionPriority] of the built-in group-versions (aggregator.go) */
const PRIORITIES: Record<string, [number, number]> = {
  v1: [18000, 1],
  'apiregistration.k8s.io/v1': [18000, 15],
  'apps/v1': [17800, 15],
  'events.k8s.io/v1': [17750, 15],
  'authentication.k8s.io/v1': [17700, 15],
  'authorization.k8s.io/v1': [17600, 15],
  'autoscaling/v1': [17500, 15],
  'autoscaling/v2': [17500, 30],
  'batch/v1': [17400, 15],
  'certificates.k8s.io/v1': [17300, 15],
  'networking.k8s.io/v1': [17200, 15],
  'policy/v1': [17100, 15],
  'rbac.authorization.k8s.io/v1': [17000, 15],
  'storage.k8s.io/v1': [16800, 15],
  'apiextensions.k8s.io/v1': [16700, 15],
  'admissionregistration.k8s.io/v1': [16700, 15],
  'scheduling.k8s.io/v1': [16600, 15],
  'coordination.k8s.io/v1': [16500, 15],
  'node.k8s.io/v1': [16300, 15],
  'discovery.k8s.io/v1': [16200, 15],
  'flowcontrol.apiserver.k8s.io/v1': [16100, 21],
  // metrics-server's own APIService manifest
  'metrics.k8s.io/v1beta1': [100, 100],
};
const CRD_PRIORITY: [number, number] = [1000, 100];

export const API_SERVICE_RESOURCE: ResourceDef = {
  group: GROUP,
  version: 'v1',
  kind: 'APIService',
  resource: 'apiservices',
  singular: 'apiservice',
  namespaced: false,
  shortNames: [],
  categories: ['api-extensions'],
  verbs: ['get', 'list', 'watch'],
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'APIService',
  validate: () => [],
  columns: [
    nameColumn(),
    col('Service', 'string', 'The reference to the service that hosts this API endpoint.'),
    col('Available', 'string', 'Whether this service is available.'),
    ageColumn(),
  ],
  row(o, now) {
    const svc = (o.spec as { service?: { namespace?: string; name?: string } } | undefined)?.service;
    const conds =
      (o.status as { conditions?: { type: string; status: string; reason?: string }[] } | undefined)?.conditions ?? [];
    const a = conds.find((c) => c.type === 'Available');
    const available = !a ? 'Unknown' : a.status === 'True' ? 'True' : `${a.status} (${a.reason ?? ''})`;
    return [o.metadata.name, svc ? `${svc.namespace}/${svc.name}` : 'Local', available, ageOf(o, now)];
  },
};

function uidOf(name: string): string {
  const h = createHash('sha1').update(`apiservice/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** the APIServices for the served kinds `defs` (CRDs added at read time), sorted by name */
export function apiServices(defs: ResourceDef[], created: Date): KubeObject[] {
  const crd = new Set(customResourceDefsServed().map((d) => `${d.group}/${d.version}`));
  const ts = rfc3339(created);
  const out: KubeObject[] = groupVersions(defs).map((gv) => {
    const key = gv.group ? `${gv.group}/${gv.version}` : gv.version;
    const isCrd = crd.has(`${gv.group}/${gv.version}`);
    const [groupPriorityMinimum, versionPriority] = isCrd ? CRD_PRIORITY : (PRIORITIES[key] ?? CRD_PRIORITY);
    const name = gv.group ? `${gv.version}.${gv.group}` : gv.version;
    const spec: Record<string, unknown> = {};
    if (gv.group) spec.group = gv.group;
    spec.version = gv.version;
    spec.groupPriorityMinimum = groupPriorityMinimum;
    spec.versionPriority = versionPriority;
    return {
      kind: 'APIService',
      apiVersion: `${GROUP}/v1`,
      metadata: {
        name,
        uid: uidOf(name),
        resourceVersion: '1',
        creationTimestamp: ts,
        labels: { [AUTOMANAGED]: isCrd ? 'true' : 'onstart' },
      },
      spec,
      status: {
        conditions: [
          {
            type: 'Available',
            status: 'True',
            lastTransitionTime: ts,
            reason: 'Local',
            message: 'Local APIServices are always available',
          },
        ],
      },
    };
  });
  return out.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
}

function refuse(verb: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "apiservices.${GROUP}"`, {
    group: GROUP,
    kind: 'apiservices',
  });
}

const WRITE_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** GET list/get/watch; other methods 405 */
export function registerApiServiceRoutes(app: FastifyInstance, served: () => ResourceDef[]): void {
  const created = new Date();
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...open]) end();
  });
  const base = `/apis/${GROUP}/v1/apiservices`;
  const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
  app.get(base, async (req, reply) => {
    const items = apiServices(served(), created);
    if (queryBool(q(req).watch)) return watch(reply, q(req), items, open, wantsTable(req.headers.accept));
    if (wantsTable(req.headers.accept))
      return toTable(API_SERVICE_RESOURCE, items, {
        include: parseIncludeObject(q(req).includeObject),
        resourceVersion: '1',
      });
    return { kind: 'APIServiceList', apiVersion: `${GROUP}/v1`, metadata: { resourceVersion: '1' }, items };
  });
  app.get(`${base}/:name`, async (req) => {
    const name = (req.params as { name: string }).name;
    const o = apiServices(served(), created).find((s) => s.metadata.name === name);
    if (!o) throw notFound('apiservices', name, GROUP);
    if (wantsTable(req.headers.accept))
      return toTable(API_SERVICE_RESOURCE, [o], {
        include: parseIncludeObject(q(req).includeObject),
        resourceVersion: '1',
      });
    return o;
  });
  for (const url of [base, `${base}/:name`]) {
    app.route({
      method: ['POST', 'PUT', 'PATCH', 'DELETE'],
      url,
      handler: async (req) => {
        throw refuse(WRITE_VERBS[req.method] ?? 'update');
      },
    });
  }
}

/** a watch: ADDED for each (as Tables when asked) (unless resuming from a resourceVersion), then open until timeoutSeconds (default 30 min), the client leaves or the server closes */
function watch(
  reply: FastifyReply,
  q: Record<string, string | undefined>,
  items: KubeObject[],
  open: Set<() => void>,
  table: boolean,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  const rv = q.resourceVersion;
  if (!rv || rv === '0') {
    // kubectl get -w asks for Table events: the first carries the column definitions
    items.forEach((o, i) => {
      const object = table
        ? toTable(API_SERVICE_RESOURCE, [o], {
            include: parseIncludeObject(q.includeObject),
            resourceVersion: '1',
            withColumns: i === 0,
          })
        : o;
      res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
    });
  }
  const t = Number(q.timeoutSeconds);
  const end = (): void => {
    clearTimeout(timer);
    open.delete(end);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(end, (Number.isFinite(t) && t > 0 ? t : 1800) * 1000);
  open.add(end);
  res.on('close', end);
}
