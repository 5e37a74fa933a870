// The catalogue of kinds skiff serves, for discovery, REST routing and tables; the
// custom resources of Established CRDs are looked up in controlplane/crd/registry.ts.
// Map of the code base: ARCHITECTURE.md, "Where each rule lives".
import { certificateSigningRequest } from './certificate-signing-request.js';
import { configMap } from './config-map.js';
import { controllerRevision } from './controller-revision.js';
import { cronJob } from './cron-job.js';
import { daemonSet } from './daemon-set.js';
import { deployment } from './deployment.js';
import { endpointSlice } from './endpoint-slice.js';
import { endpoints } from './endpoints.js';
import { event } from './event.js';
import { horizontalPodAutoscaler, horizontalPodAutoscalerV1 } from './horizontal-pod-autoscaler.js';
import { job } from './job.js';
import { lease } from './lease.js';
import { limitRange } from './limit-range.js';
import { namespace } from './namespace.js';
import { networkPolicy } from './network-policy.js';
import { ingress } from './ingress.js';
import { ingressClass } from './ingress-class.js';
import { node } from './node.js';
import { persistentVolumeClaim } from './persistent-volume-claim.js';
import { persistentVolume } from './persistent-volume.js';
import { podDisruptionBudget } from './pod-disruption-budget.js';
import { pod } from './pod.js';
import { podTemplate } from './pod-template-kind.js';
import { priorityClass } from './priority-class.js';
import { RBAC_RESOURCES } from './rbac.js';
import { replicaSet } from './replica-set.js';
import { replicationController } from './replication-controller.js';
import { resourceQuota } from './resource-quota.js';
import { secret } from './secret.js';
import { serviceAccount } from './service-account.js';
import { service } from './service.js';
import { statefulSet } from './stateful-set.js';
import { storageClass } from './storage-class.js';
import type { ResourceDef } from './types.js';
import { customResourceDefinition } from '../crd/crd-resource.js';
import { customKind, customResource } from '../crd/registry.js';

export type { ResourceDef, TableColumn, Subresource } from './types.js';

export const resources: ResourceDef[] = [
  namespace,
  node,
  pod,
  service,
  endpoints,
  configMap,
  secret,
  event,
  serviceAccount,
  persistentVolumeClaim,
  persistentVolume,
  deployment,
  replicaSet,
  daemonSet,
  statefulSet,
  controllerRevision,
  job,
  cronJob,
  lease,
  endpointSlice,
  podDisruptionBudget,
  horizontalPodAutoscaler,
  networkPolicy,
  ingress,
  ingressClass,
  storageClass,
  resourceQuota,
  limitRange,
  podTemplate,
  replicationController,
  priorityClass,
  certificateSigningRequest,
  customResourceDefinition,
  ...RBAC_RESOURCES,
];

/** other served versions of stored kinds, converted on the way in and out (not walked by controllers) */
export const convertedVersions: ResourceDef[] = [horizontalPodAutoscalerV1];

const byResource = new Map(
  [...resources, ...convertedVersions].map((r) => [`${r.group}/${r.version}/${r.resource}`, r]),
);
const byKind = new Map(resources.map((r) => [`${r.group}/${r.kind}`, r]));

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return byResource.get(`${group}/${version}/${plural}`) ?? customResource(group, version, plural);
}

export function findByKind(group: string, kind: string): ResourceDef | undefined {
  return byKind.get(`${group}/${kind}`) ?? customKind(group, kind);
}
