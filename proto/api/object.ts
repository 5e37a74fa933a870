// A stored object of one kind, typed: `ObjectOf<'Pod'>` (also written `KubeObject<'Pod'>`)
// is the generated interface (./types.gen.ts) plus what the API server guarantees of every
// object it has stored (metadata.name, uid, resourceVersion, namespace of namespaced kinds)
// and the fields its defaulting always fills (the overlay below). Object metadata lives here
// too (proto/meta.ts re-exports it) so proto/meta.ts and this file import in one direction.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type * as api from './types.gen.js';
import type { KindMap, NamespacedKind } from './types.gen.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [k: string]: unknown;
}

/** a kind with a generated interface */
export type Kind = keyof KindMap;

/** metadata of an object read back from the API (registry's BeforeCreate fills these) */
export interface StoredMeta extends ObjectMeta {
  name: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
}

/**
 * Fields defaulting (controlplane/resources/*: defaults, prepareForCreate) or validation
 * guarantees on a stored object, by kind. Only what is always there: a kind not listed
 * here is its generated interface as it is.
 */
interface Defaulted extends Record<Kind, object> {
  Pod: {
    spec: api.PodSpec & {
      dnsPolicy: string;
      restartPolicy: string;
      schedulerName: string;
      terminationGracePeriodSeconds: number;
      enableServiceLinks: boolean;
      priority: number;
      preemptionPolicy: string;
      serviceAccountName: string;
      securityContext: api.PodSecurityContext;
    };
    status: api.PodStatus;
  };
  Deployment: {
    spec: api.DeploymentSpec & {
      replicas: number;
      revisionHistoryLimit: number;
      progressDeadlineSeconds: number;
      strategy: api.DeploymentStrategy;
    };
  };
  ReplicaSet: { spec: api.ReplicaSetSpec & { replicas: number } };
  StatefulSet: {
    spec: api.StatefulSetSpec & { podManagementPolicy: string; updateStrategy: api.StatefulSetUpdateStrategy };
  };
  DaemonSet: { spec: api.DaemonSetSpec };
  Job: { spec: api.JobSpec };
  PersistentVolume: { spec: api.PersistentVolumeSpec };
  PersistentVolumeClaim: { spec: api.PersistentVolumeClaimSpec };
}

/** a stored object of kind K: `ObjectOf<'Pod'>['spec']['containers'][0].name` is a string */
export type ObjectOf<K extends Kind> = KindMap[K] &
  Defaulted[K] & {
    apiVersion: string;
    kind: K;
    metadata: K extends NamespacedKind ? StoredMeta & { namespace: string } : StoredMeta;
  };
