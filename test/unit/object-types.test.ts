// The typed object model (proto/api/): `KubeObject<'Pod'>` is the generated Pod plus what
// defaulting guarantees, `KubeObject` alone stays the untyped object every caller uses, a
// typed object passes where an untyped one is expected, and the generated file covers
// every served kind. The type assertions are checked by `tsc -p tsconfig.test.json`.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import type { ObjectOf } from '../../proto/api/object.js';
import type { Container, IntOrString, KindMap, PodSpec, ServicePort } from '../../proto/api/types.gen.js';
import { resources } from '../../controlplane/resources/index.js';
import { defs } from '../../proto/schema/defs.js';

describe('typed objects', () => {
  it('gives a stored Pod its generated, defaulted fields', () => {
    expectTypeOf<KubeObject<'Pod'>>().toEqualTypeOf<ObjectOf<'Pod'>>();
    expectTypeOf<ObjectOf<'Pod'>['metadata']['name']>().toEqualTypeOf<string>();
    expectTypeOf<ObjectOf<'Pod'>['metadata']['namespace']>().toEqualTypeOf<string>();
    expectTypeOf<ObjectOf<'Pod'>['spec']['containers']>().toEqualTypeOf<Container[]>();
    expectTypeOf<ObjectOf<'Pod'>['spec']['restartPolicy']>().toEqualTypeOf<string>();
    expectTypeOf<ObjectOf<'Deployment'>['spec']['replicas']>().toEqualTypeOf<number>();
    expectTypeOf<PodSpec['nodeName']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Container['name']>().toEqualTypeOf<string>();
    expectTypeOf<ServicePort['targetPort']>().toEqualTypeOf<IntOrString | undefined>();
  });

  it('keeps KubeObject without a kind untyped and accepts a typed object where it is expected', () => {
    expectTypeOf<KubeObject['spec']>().toBeAny();
    const untyped = (o: KubeObject): string | undefined => o.metadata.name;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'default',
        uid: 'u',
        resourceVersion: '1',
        creationTimestamp: '2026-12-06T00:00:00Z',
      },
      spec: {
        containers: [{ name: 'c', image: 'i' }],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        terminationGracePeriodSeconds: 30,
        enableServiceLinks: true,
        priority: 0,
        preemptionPolicy: 'PreemptLowerPriority',
        serviceAccountName: 'default',
        securityContext: {},
      },
      status: { phase: 'Pending' },
    } satisfies KubeObject<'Pod'>;
    expect(untyped(pod)).toBe('p');
  });

  it('maps every served kind with a schema to its generated interface', () => {
    const map: Record<keyof KindMap, true> = {
      CertificateSigningRequest: true,
      ClusterRole: true,
      ClusterRoleBinding: true,
      ConfigMap: true,
      ControllerRevision: true,
      CronJob: true,
      CustomResourceDefinition: true,
      DaemonSet: true,
      Deployment: true,
      EndpointSlice: true,
      Endpoints: true,
      Event: true,
      HorizontalPodAutoscaler: true,
      Ingress: true,
      IngressClass: true,
      Job: true,
      Lease: true,
      LimitRange: true,
      Namespace: true,
      NetworkPolicy: true,
      Node: true,
      PersistentVolume: true,
      PersistentVolumeClaim: true,
      Pod: true,
      PodDisruptionBudget: true,
      PodTemplate: true,
      PriorityClass: true,
      ReplicaSet: true,
      ReplicationController: true,
      ResourceQuota: true,
      Role: true,
      RoleBinding: true,
      Secret: true,
      Service: true,
      ServiceAccount: true,
      StatefulSet: true,
      StorageClass: true,
    };
    const served = new Set(resources.filter((r) => defs[r.schema]).map((r) => r.kind));
    expect(new Set(Object.keys(map))).toEqual(served);
  });
});
