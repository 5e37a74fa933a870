// Shared fixtures for the controller tests: a real ApiStorage over an in-memory SQLite
// store, a controller context with shared informers, and minimal valid objects.
import { pino } from 'pino';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { controllerContext, type ControllerContext } from '../../controlplane/controllers/context.js';
import type { Controller } from '../../controlplane/controllers/types.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { ResourceDef } from '../../controlplane/resources/types.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { KubeObject, OwnerReference } from '../../proto/meta.js';

export const defs = {
  pods: findResource('', 'v1', 'pods')!,
  nodes: findResource('', 'v1', 'nodes')!,
  namespaces: findResource('', 'v1', 'namespaces')!,
  configmaps: findResource('', 'v1', 'configmaps')!,
  events: findResource('', 'v1', 'events')!,
  deployments: findResource('apps', 'v1', 'deployments')!,
  replicasets: findResource('apps', 'v1', 'replicasets')!,
  daemonsets: findResource('apps', 'v1', 'daemonsets')!,
};

export interface TestCluster {
  store: SqliteStore;
  storage: ApiStorage;
  ctx: ControllerContext;
  controllers: Controller[];
  stop(): Promise<void>;
}

export async function startCluster(
  mods: Array<{ create(ctx: ControllerContext): Controller }>,
  now?: () => Date,
): Promise<TestCluster> {
  const store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  const ctx = controllerContext(storage, pino({ enabled: false }), now);
  const controllers = mods.map((m) => m.create(ctx));
  for (const c of controllers) await c.start();
  await ctx.informers.startAll();
  return {
    store,
    storage,
    ctx,
    controllers,
    async stop() {
      for (const c of controllers) c.stop();
      ctx.informers.stopAll();
      await store.close();
    },
  };
}

export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5_000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function ownerRef(
  o: KubeObject,
  def: ResourceDef,
  extra: Partial<OwnerReference> = { controller: true, blockOwnerDeletion: true },
): OwnerReference {
  return {
    apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
    kind: def.kind,
    name: o.metadata.name!,
    uid: o.metadata.uid!,
    ...extra,
  };
}

export const template = (labels: Record<string, string>) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'c', image: 'skiff.local/busybox:1.36' }], terminationGracePeriodSeconds: 1 },
});

export function deploymentBody(name: string): unknown {
  return {
    metadata: { name },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template({ app: name }) },
  };
}

export function replicaSetBody(name: string, owners: OwnerReference[] = []): unknown {
  return {
    metadata: { name, labels: { app: name }, ...(owners.length ? { ownerReferences: owners } : {}) },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template({ app: name }) },
  };
}

export function podBody(
  name: string,
  owners: OwnerReference[] = [],
  extra: { nodeName?: string; labels?: Record<string, string> } = {},
): unknown {
  return {
    metadata: { name, labels: extra.labels ?? { app: 'x' }, ...(owners.length ? { ownerReferences: owners } : {}) },
    spec: {
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      containers: [{ name: 'c', image: 'skiff.local/busybox:1.36' }],
      terminationGracePeriodSeconds: 1,
    },
  };
}

export function nodeBody(
  name: string,
  opts: { labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean } = {},
): unknown {
  const capacity = { cpu: '4', memory: '8Gi', pods: '110' };
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } },
    spec: { ...(opts.taints ? { taints: opts.taints } : {}), ...(opts.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}
