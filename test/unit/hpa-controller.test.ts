// The HPA controller in process over the real write path: a Deployment's pods with fake
// usage samples scale it through its Scale (limited to max(2x, 4) without behavior), with
// upstream's status, conditions and SuccessfulRescale event; no samples set ScalingActive
// False/FailedGetResourceMetric; a target at 0 replicas disables scaling.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { PodUsage } from '../../controlplane/api/metrics-api.js';
import { create } from '../../controlplane/controllers/horizontal-pod-autoscaler-controller.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';

const dDef = findResource('apps', 'v1', 'deployments')!;
const podDef = findResource('', 'v1', 'pods')!;
const hpaDef = findResource('autoscaling', 'v2', 'horizontalpodautoscalers')!;
const evDef = findResource('', 'v1', 'events')!;
const LONG_AGO = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const deployment = (replicas: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'w' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'w' } },
    template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
  },
});
const hpaObj = (): KubeObject => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'w' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'w' },
    minReplicas: 1,
    maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
  },
});

async function runningPod(h: ControllerHarness, name: string): Promise<void> {
  await h.storage.create(
    podDef,
    'default',
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: 'w' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '100m' } } }] },
    },
    {},
  );
  await h.storage.guaranteedUpdate(
    podDef,
    'default',
    name,
    {},
    (cur) => ({
      ...cur,
      status: {
        phase: 'Running',
        startTime: LONG_AGO,
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: LONG_AGO }],
      },
    }),
    'status',
  );
}

const usage = (milli: number): PodUsage => ({
  timestamp: new Date().toISOString(),
  windowSeconds: 10,
  containers: [{ name: 'c', cpuNanoCores: milli * 1e6, memoryWorkingSetBytes: 1 << 20 }],
});
const events = async (h: ControllerHarness) =>
  (await h.storage.list(evDef, 'default')).items.map((e) => `${e.type} ${e.reason} ${e.message}`);
const cond = (o: KubeObject, type: string) =>
  (o.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

describe('HorizontalPodAutoscaler controller', () => {
  let h: ControllerHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('scales a Deployment up from its pods usage, with status, conditions and the event', async () => {
    h = await startController((ctx) => create(ctx, { metrics: { podUsage: () => usage(150) } }));
    await h.storage.create(dDef, 'default', deployment(2), {});
    await runningPod(h, 'a');
    await runningPod(h, 'b');
    await h.storage.create(hpaDef, 'default', hpaObj(), {});
    await until('scaled', async () => (await h!.storage.get(dDef, 'default', 'w')).spec.replicas === 4);
    const st = await until('status', async () => {
      const o = await h!.storage.get(hpaDef, 'default', 'w');
      return o.status?.desiredReplicas === 4 && o;
    });
    expect(st.status.currentReplicas).toBe(2);
    expect(st.status.lastScaleTime).toBeTruthy();
    expect(st.status.currentMetrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 150, averageValue: '150m' } } },
    ]);
    expect(cond(st, 'AbleToScale')).toMatchObject({
      status: 'True',
      reason: 'SucceededRescale',
      message: 'the HPA controller was able to update the target scale to 4',
    });
    expect(cond(st, 'ScalingActive')).toMatchObject({
      status: 'True',
      reason: 'ValidMetricFound',
      message:
        'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
    });
    expect(cond(st, 'ScalingLimited')).toMatchObject({
      status: 'True',
      reason: 'ScaleUpLimit',
      message: 'the desired replica count is increasing faster than the maximum scale rate',
    });
    await until('event', async () =>
      (await events(h!)).includes(
        'Normal SuccessfulRescale New size: 4; reason: cpu resource utilization (percentage of request) above target',
      ),
    );
  });

  it('reports missing metrics as upstream does', async () => {
    h = await startController((ctx) => create(ctx, { metrics: { podUsage: () => undefined } }));
    await h.storage.create(dDef, 'default', deployment(1), {});
    await runningPod(h, 'a');
    await h.storage.create(hpaDef, 'default', hpaObj(), {});
    const st = await until('condition', async () => {
      const o = await h!.storage.get(hpaDef, 'default', 'w');
      return cond(o, 'ScalingActive') && o;
    });
    const err =
      'failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API';
    expect(cond(st, 'ScalingActive')).toMatchObject({
      status: 'False',
      reason: 'FailedGetResourceMetric',
      message: `the HPA was unable to compute the replica count: ${err}`,
    });
    expect(cond(st, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededGetScale' });
    expect(st.status.currentReplicas).toBe(1);
    await until('events', async () => {
      const ev = await events(h!);
      return (
        ev.includes(`Warning FailedGetResourceMetric ${err}`) &&
        ev.includes(`Warning FailedComputeMetricsReplicas invalid metrics (1 invalid out of 1), first error is: ${err}`)
      );
    });
    expect((await h.storage.get(dDef, 'default', 'w')).spec.replicas).toBe(1);
  });

  it('clamps a StatefulSet above maxReplicas through its scale', async () => {
    const ssDef = findResource('apps', 'v1', 'statefulsets')!;
    h = await startController((ctx) => create(ctx, { metrics: { podUsage: () => usage(50) } }));
    const ss = deployment(5);
    await h.storage.create(
      ssDef,
      'default',
      { ...ss, apiVersion: 'apps/v1', kind: 'StatefulSet', spec: { ...ss.spec, serviceName: 'w' } },
      {},
    );
    const o = hpaObj();
    o.spec.scaleTargetRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'w' };
    o.spec.maxReplicas = 3;
    await h.storage.create(hpaDef, 'default', o, {});
    await until('clamped', async () => (await h!.storage.get(ssDef, 'default', 'w')).spec.replicas === 3);
    await until('event', async () =>
      (await events(h!)).includes(
        'Normal SuccessfulRescale New size: 3; reason: Current number of replicas above Spec.MaxReplicas',
      ),
    );
  });

  it('leaves a target scaled to zero alone', async () => {
    h = await startController((ctx) => create(ctx, { metrics: { podUsage: () => usage(500) } }));
    await h.storage.create(dDef, 'default', deployment(0), {});
    await h.storage.create(hpaDef, 'default', hpaObj(), {});
    const st = await until('condition', async () => {
      const o = await h!.storage.get(hpaDef, 'default', 'w');
      return cond(o, 'ScalingActive') && o;
    });
    expect(cond(st, 'ScalingActive')).toMatchObject({
      status: 'False',
      reason: 'ScalingDisabled',
      message: 'scaling is disabled since the replica count of the target is zero',
    });
    expect((await h.storage.get(dDef, 'default', 'w')).spec.replicas).toBe(0);
  });
});
