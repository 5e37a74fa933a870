// The controller manager: builds every controller on one shared context, starts the
// shared informers once all handlers are registered, and stops them together.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { Logger } from 'pino';
import type { ApiStorage } from '../api/storage.js';
import { controllerContext } from './context.js';
import type { Controller } from './types.js';
import * as replicaSet from './replica-set-controller.js';
import * as replicationController from './replication-controller.js';
import * as deployment from './deployment-controller.js';
import * as garbageCollector from './garbage-collector.js';
import * as namespace from './namespace-controller.js';
import * as daemonSet from './daemon-set-controller.js';
import * as statefulSet from './stateful-set-controller.js';
import * as job from './job-controller.js';
import * as cronJob from './cron-job-controller.js';
import * as nodeLifecycle from './node-lifecycle-controller.js';
import type { NodeLifecycleMetrics } from './node-lifecycle-controller.js';
import type { DisruptionOptions } from './node-lifecycle/zones.js';
import * as disruption from './disruption-controller.js';
import * as eventTtl from './event-ttl-controller.js';
import * as endpoints from './endpoints-controller.js';
import * as endpointSlice from './endpoint-slice-controller.js';
import * as serviceLB from './service-lb-controller.js';
import * as ingressStatus from './ingress-status-controller.js';
import * as persistentVolume from './persistent-volume-controller.js';
import * as pvcProtection from './pvc-protection-controller.js';
import * as pvProtection from './pv-protection-controller.js';
import * as clusterRoleAggregation from './cluster-role-aggregation-controller.js';
import * as resourceQuota from './resource-quota-controller.js';
import * as horizontalPodAutoscaler from './horizontal-pod-autoscaler-controller.js';
import type { PodUsageSource } from './horizontal-pod-autoscaler-controller.js';
import type { VolumeHost } from '../storage/volume-host.js';
import * as serviceAccount from './service-account-controller.js';
import * as rootCaPublisher from './root-ca-publisher.js';
import * as tokenController from './token-controller.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';
import { DEFAULT_CONTROLLERS_BURST, DEFAULT_CONTROLLERS_QPS } from './slow-start.js';
import { controllerUser, type ActAs } from '../audit/in-process.js';
import type { ControllerContext } from './context.js';

export interface ControllerOptions {
  nodeGracePeriodMs: number;
  nodeMonitorPeriodMs: number;
  /** Events live this long after their last occurrence (--event-ttl; default 1h) */
  eventTtlMs?: number;
  /** objects all controllers together may create per second (--controllers-qps; 0: unlimited) */
  controllersQps?: number;
  /** creations allowed at once after a quiet period (--controllers-burst) */
  controllersBurst?: number;
  /** zone disruption rates and thresholds (--node-eviction-rate, …); Kubernetes' defaults when absent */
  disruption?: Partial<DisruptionOptions>;
  /** node_collector_* metrics of the node lifecycle controller */
  nodeLifecycleMetrics?: NodeLifecycleMetrics;
  /** the node agents that create and remove local-path volume directories (absent: provisioning waits with an event) */
  volumeHost?: VolumeHost;
  /** the default ServiceAccount, kube-root-ca.crt and legacy token Secrets in every namespace (skiff-server passes them) */
  serviceAccounts?: { caPem: string; tokens: ServiceAccountTokens };
  /** pod usage (metrics.k8s.io samples) the horizontal pod autoscaler reads; absent: HPAs report missing metrics */
  podMetrics?: PodUsageSource;
  /** each controller writes as its own identity (system:serviceaccount:kube-system:<name>) in the audit log */
  actAs?: ActAs;
}

export async function startControllers(
  storage: ApiStorage,
  log: Logger,
  opts: ControllerOptions = { nodeGracePeriodMs: 15_000, nodeMonitorPeriodMs: 1000 },
): Promise<{ stop(): void; controllers: Controller[] }> {
  const ctx = controllerContext(storage, log, undefined, {
    createQps: opts.controllersQps ?? DEFAULT_CONTROLLERS_QPS,
    createBurst: opts.controllersBurst ?? DEFAULT_CONTROLLERS_BURST,
  });
  // one context per controller: the shared informers, its own identity for writes (kube-controller-manager's names)
  const as = (name: string): ControllerContext =>
    opts.actAs ? { ...ctx, storage: opts.actAs(storage, controllerUser(name), name) } : ctx;
  const controllers = (
    [
      [replicaSet, 'replicaset-controller'],
      [deployment, 'deployment-controller'],
      [garbageCollector, 'generic-garbage-collector'],
      [namespace, 'namespace-controller'],
      [daemonSet, 'daemon-set-controller'],
      [statefulSet, 'statefulset-controller'],
      [job, 'job-controller'],
      [cronJob, 'cronjob-controller'],
      [replicationController, 'replication-controller'],
    ] as const
  ).map(([m, name]) => m.create(as(name)));
  controllers.push(
    nodeLifecycle.create(as('node-controller'), {
      ...opts.disruption,
      gracePeriodMs: opts.nodeGracePeriodMs,
      monitorPeriodMs: opts.nodeMonitorPeriodMs,
      metrics: opts.nodeLifecycleMetrics,
    }),
  );
  controllers.push(
    disruption.create(as('disruption-controller')),
    eventTtl.create(as('event-ttl-controller'), { ttlMs: opts.eventTtlMs ?? eventTtl.DEFAULT_EVENT_TTL_MS }),
  );
  controllers.push(
    endpoints.create(as('endpoint-controller')),
    endpointSlice.create(as('endpointslice-controller')),
    serviceLB.create(as('service-controller')),
  );
  controllers.push(ingressStatus.create(as('ingress-status-controller')));
  controllers.push(
    persistentVolume.create(as('persistent-volume-binder'), { volumeHost: opts.volumeHost }),
    pvcProtection.create(as('pvc-protection-controller')),
    pvProtection.create(as('pv-protection-controller')),
  );
  controllers.push(
    clusterRoleAggregation.create(as('clusterrole-aggregation-controller')),
    resourceQuota.create(as('resourcequota-controller')),
  );
  controllers.push(horizontalPodAutoscaler.create(as('horizontal-pod-autoscaler'), { metrics: opts.podMetrics }));
  if (opts.serviceAccounts) {
    const sa = opts.serviceAccounts;
    controllers.push(
      serviceAccount.create(as('service-account-controller')),
      rootCaPublisher.create(as('root-ca-cert-publisher'), sa.caPem),
      tokenController.create(as('tokens-controller'), sa.tokens, sa.caPem),
    );
  }
  for (const c of controllers) await c.start();
  await ctx.informers.startAll();
  return {
    controllers,
    stop() {
      for (const c of controllers) c.stop();
      ctx.createLimiter.stop();
      ctx.informers.stopAll();
    },
  };
}
