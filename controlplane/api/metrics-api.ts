// metrics.k8s.io/v1beta1 for `kubectl top`: NodeMetrics and PodMetrics built from the
// usage each agent samples from Docker stats and /proc. Kept in memory (as
// metrics-server does); a node's report only counts for pods bound to that node.
import type { FastifyInstance } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import type { StatsMsg } from '../../proto/agent-protocol.js';
import { formatBytes, formatNanocores } from '../../proto/quantity.js';
import { findResource } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';
import { ApiError } from './errors.js';
import type { ApiStorage } from './storage.js';
import { rfc3339 } from '../../proto/api/time.js';

const GROUP = 'metrics.k8s.io';
const VERSION = 'v1beta1';
/** reports older than this are stale (agents report every 10 s) */
const MAX_AGE_MS = 60_000;

function metricsDef(kind: string, resource: string, namespaced: boolean): ResourceDef {
  return {
    group: GROUP,
    version: VERSION,
    kind,
    resource,
    singular: '',
    namespaced,
    shortNames: [],
    categories: [],
    verbs: ['get', 'list'],
    subresources: [],
    hasStatusSubresource: false,
    hasGeneration: false,
    schema: kind,
    validate: () => [],
    columns: [],
    row: () => [],
  };
}

/** advertised in discovery next to the stored kinds, served by the routes below */
export const METRICS_RESOURCES: ResourceDef[] = [
  metricsDef('NodeMetrics', 'nodes', false),
  metricsDef('PodMetrics', 'pods', true),
];

interface NodeReport {
  at: number;
  msg: StatsMsg;
}

/** one pod's sample: CPU in nanocores and memory working set in bytes per container */
export interface PodUsage {
  timestamp: string;
  windowSeconds: number;
  containers: { name: string; cpuNanoCores: number; memoryWorkingSetBytes: number }[];
}

export class MetricsStore {
  private byNode = new Map<string, NodeReport>();

  update(node: string, msg: StatsMsg): void {
    this.byNode.set(node, { at: Date.now(), msg });
  }

  private fresh(node: string): NodeReport | undefined {
    const r = this.byNode.get(node);
    return r && Date.now() - r.at < MAX_AGE_MS ? r : undefined;
  }

  nodeMetrics(node: KubeObject): unknown | undefined {
    const r = this.fresh(node.metadata.name!);
    if (!r) return undefined;
    return {
      metadata: { name: node.metadata.name, creationTimestamp: rfc3339(), labels: node.metadata.labels },
      timestamp: r.msg.timestamp,
      window: `${r.msg.windowSeconds}s`,
      usage: { cpu: formatNanocores(r.msg.node.cpuNanoCores), memory: formatBytes(r.msg.node.memoryWorkingSetBytes) },
    };
  }

  /** a pod's latest usage sample, read in process by the HPA controller (undefined: no fresh report) */
  podUsage(pod: KubeObject): PodUsage | undefined {
    const node = pod.spec?.nodeName;
    const r = node ? this.fresh(node) : undefined;
    const p = r?.msg.pods.find((x) => x.pod.uid === pod.metadata.uid);
    if (!r || !p) return undefined;
    return { timestamp: r.msg.timestamp, windowSeconds: r.msg.windowSeconds, containers: p.containers };
  }

  podMetrics(pod: KubeObject): unknown | undefined {
    const node = pod.spec?.nodeName;
    if (!node) return undefined;
    const r = this.fresh(node);
    const p = r?.msg.pods.find((x) => x.pod.uid === pod.metadata.uid);
    if (!r || !p) return undefined;
    return {
      metadata: {
        name: pod.metadata.name,
        namespace: pod.metadata.namespace,
        creationTimestamp: rfc3339(),
        labels: pod.metadata.labels,
      },
      timestamp: r.msg.timestamp,
      window: `${r.msg.windowSeconds}s`,
      containers: p.containers.map((c) => ({
        name: c.name,
        usage: { cpu: formatNanocores(c.cpuNanoCores), memory: formatBytes(c.memoryWorkingSetBytes) },
      })),
    };
  }
}

type Query = Record<string, string | undefined>;

export function registerMetricsRoutes(app: FastifyInstance, storage: ApiStorage, store: MetricsStore): void {
  const nodes = findResource('', 'v1', 'nodes')!;
  const pods = findResource('', 'v1', 'pods')!;
  const base = `/apis/${GROUP}/${VERSION}`;
  const list = (kind: string, items: unknown[]) => ({
    kind: `${kind}List`,
    apiVersion: `${GROUP}/${VERSION}`,
    metadata: {},
    items,
  });
  const typed = (kind: string, o: unknown) => ({ kind, apiVersion: `${GROUP}/${VERSION}`, ...(o as object) });

  app.get(`${base}/nodes`, async (req) => {
    const q = req.query as Query;
    const all = await storage.list(nodes, undefined, {
      labelSelector: q.labelSelector,
      fieldSelector: q.fieldSelector,
    });
    return list('NodeMetrics', all.items.map((n) => store.nodeMetrics(n)).filter(Boolean));
  });
  app.get(`${base}/nodes/:name`, async (req) => {
    const name = (req.params as { name: string }).name;
    const n = await storage.get(nodes, undefined, name);
    const m = store.nodeMetrics(n);
    if (!m)
      throw new ApiError(404, 'NotFound', `nodemetrics.${GROUP} "${name}" not found`, {
        name,
        group: GROUP,
        kind: 'nodes',
      });
    return typed('NodeMetrics', m);
  });
  const podList = async (namespace: string | undefined, q: Query) => {
    const all = await storage.list(pods, namespace, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
    return list('PodMetrics', all.items.map((p) => store.podMetrics(p)).filter(Boolean));
  };
  app.get(`${base}/pods`, async (req) => podList(undefined, req.query as Query));
  app.get(`${base}/namespaces/:ns/pods`, async (req) => podList((req.params as { ns: string }).ns, req.query as Query));
  app.get(`${base}/namespaces/:ns/pods/:name`, async (req) => {
    const { ns, name } = req.params as { ns: string; name: string };
    const p = await storage.get(pods, ns, name);
    const m = store.podMetrics(p);
    if (!m)
      throw new ApiError(404, 'NotFound', `podmetrics.${GROUP} "${name}" not found`, {
        name,
        group: GROUP,
        kind: 'pods',
      });
    return typed('PodMetrics', m);
  });
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: `${base}/*`,
    handler: async (req) => {
      throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported on ${GROUP} resources`);
    },
  });
}
