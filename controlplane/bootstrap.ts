// Objects every cluster has from its first start, created through the normal API path:
// the system namespaces, default/kubernetes and kube-system/kube-dns (the Endpoints of
// default/kubernetes are the lease endpoint reconciler's, peers/endpoint-reconciler.ts),
// and (once) the default `local-path` StorageClass.
import type { KubeObject } from '../proto/meta.js';
import { nthAddress, parseCidr } from '../proto/cidr.js';
import { findResource } from './resources/index.js';
import type { ResourceDef } from './resources/types.js';
import type { ApiStorage } from './api/storage.js';
import { ApiError } from './api/errors.js';
import { KeyExistsError } from './store/types.js';
import { LOCAL_PATH_PROVISIONER } from './storage/volume-host.js';
import { SYSTEM_PRIORITY_CLASSES, systemPriorityClassObject } from './resources/priority-class.js';
import { SKIFF_INGRESS_CLASS, skiffIngressClassObject } from './resources/ingress-class.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function seedNamespaces(storage: ApiStorage): Promise<void> {
  const def = findResource('', 'v1', 'namespaces')!;
  for (const name of SYSTEM_NAMESPACES) {
    if (await storage.tryGet(def, undefined, name)) continue;
    try {
      await storage.create(
        def,
        undefined,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        { fieldValidation: 'Strict' },
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }
}

/** Store key (outside /registry, so no API client sees it) recording that the default class was seeded once. */
export const DEFAULT_STORAGE_CLASS_MARKER = '/skiff/seeded/default-storage-class';
export const DEFAULT_STORAGE_CLASS = 'local-path';

/**
 * The built-in `local-path` StorageClass (skiff.io/local-path, WaitForFirstConsumer, Delete,
 * marked default), created on the cluster's first start only: a marker in the store
 * remembers it was seeded, so a class the user deleted (or un-defaulted) stays as they left it.
 */
export async function seedDefaultStorageClass(storage: ApiStorage): Promise<void> {
  if (await storage.store.get(DEFAULT_STORAGE_CLASS_MARKER)) return;
  const def = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
  await ensureCreated(storage, def, '', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  });
  try {
    await storage.store.create(DEFAULT_STORAGE_CLASS_MARKER, JSON.stringify({ name: DEFAULT_STORAGE_CLASS }));
  } catch (e) {
    if (!(e instanceof KeyExistsError)) throw e;
  }
}

/** Store key recording that the `skiff` IngressClass was seeded once (as the local-path class). */
export const DEFAULT_INGRESS_CLASS_MARKER = '/skiff/seeded/default-ingress-class';

/** The `skiff` IngressClass (controller skiff.io/ingress, annotated default), created on the cluster's first start only. */
export async function seedDefaultIngressClass(storage: ApiStorage): Promise<void> {
  if (await storage.store.get(DEFAULT_INGRESS_CLASS_MARKER)) return;
  await ensureCreated(
    storage,
    findResource('networking.k8s.io', 'v1', 'ingressclasses')!,
    '',
    skiffIngressClassObject(),
  );
  try {
    await storage.store.create(DEFAULT_INGRESS_CLASS_MARKER, JSON.stringify({ name: SKIFF_INGRESS_CLASS }));
  } catch (e) {
    if (!(e instanceof KeyExistsError)) throw e;
  }
}

/** system-node-critical and system-cluster-critical, created when absent on every start (the scheduling API's post-start hook). */
export async function seedSystemPriorityClasses(storage: ApiStorage): Promise<void> {
  const def = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  for (const c of SYSTEM_PRIORITY_CLASSES) await ensureCreated(storage, def, '', systemPriorityClassObject(c));
}

export interface ClusterServicesConfig {
  serviceCidr: string;
  /** ClusterIP of kube-system/kube-dns (--cluster-dns) */
  clusterDns: string;
  /** the API server's port: default/kubernetes' targetPort (its Endpoints: peers/endpoint-reconciler.ts) */
  port: number;
}

/** The first address of the service CIDR: default/kubernetes' ClusterIP (10.43.0.1). */
export function apiServerServiceIP(serviceCidr: string): string {
  const c = parseCidr(serviceCidr);
  if (!c) throw new Error(`invalid service CIDR ${serviceCidr}`);
  return nthAddress(c, 1);
}

async function ensureCreated(
  storage: ApiStorage,
  def: ResourceDef,
  namespace: string,
  obj: KubeObject,
): Promise<KubeObject> {
  const existing = await storage.tryGet(def, namespace, obj.metadata.name!);
  if (existing) return existing;
  try {
    return await storage.create(def, namespace, obj, { fieldValidation: 'Strict', fieldManager: 'skiff-server' });
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    return storage.get(def, namespace, obj.metadata.name!);
  }
}

/**
 * The Services every cluster has: default/kubernetes (443 -> the API server, ClusterIP the
 * first service address; its Endpoints: peers/endpoint-reconciler.ts) and kube-system/kube-dns
 * at --cluster-dns (no selector: each agent answers cluster DNS itself). Safe to run on every start.
 */
export async function seedClusterServices(storage: ApiStorage, cfg: ClusterServicesConfig): Promise<void> {
  await seedDefaultStorageClass(storage);
  await seedDefaultIngressClass(storage);
  const svcDef = findResource('', 'v1', 'services')!;
  const api = await ensureCreated(storage, svcDef, 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: apiServerServiceIP(cfg.serviceCidr),
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: cfg.port }],
    },
  });
  if (api.spec?.ports?.[0]?.targetPort !== cfg.port) {
    await storage.guaranteedUpdate(svcDef, 'default', 'kubernetes', {}, (cur) => {
      cur.spec.ports = [{ name: 'https', port: 443, protocol: 'TCP', targetPort: cfg.port }];
      return cur;
    });
  }
  await ensureCreated(storage, svcDef, 'kube-system', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: cfg.clusterDns,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  });
}
