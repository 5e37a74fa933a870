// HorizontalPodAutoscaler: the replica calculator (cases of upstream's
// replica_calculator_test.go), the stabilization/behavior normalisation, validation
// messages, v1 <-> v2 conversion with its round-trip annotations, kubectl's TARGETS cell,
// and both served versions through the REST storage view (converted-storage.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { storageFor } from '../../controlplane/api/converted-storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { findResource } from '../../controlplane/resources/index.js';
import { horizontalPodAutoscaler } from '../../controlplane/resources/horizontal-pod-autoscaler.js';
import { hpaFromV1, hpaToV1, METRIC_SPECS_ANNOTATION } from '../../controlplane/resources/hpa/conversion.js';
import { formatHpaMetrics } from '../../controlplane/resources/hpa/table.js';
import { decodeKubernetesProtobuf } from '../../proto/protobuf/decode.js';
import {
  rawResourceReplicas,
  resourceReplicas,
  type PodInfo,
  type PodSample,
} from '../../controlplane/controllers/horizontal-pod-autoscaler/replica-calculator.js';
import {
  newHistory,
  normalizeDesiredReplicas,
  normalizeWithBehaviors,
  storeScaleEvent,
} from '../../controlplane/controllers/horizontal-pod-autoscaler/normalize.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const LONG_AGO = NOW - 60 * 60_000;

/** a running, ready pod started long ago, with a request in milli-units */
const pod = (name: string, request: number | undefined, over: Partial<PodInfo> = {}): PodInfo => ({
  name,
  deleting: false,
  phase: 'Running',
  startTime: LONG_AGO,
  ready: { status: 'True', lastTransitionTime: LONG_AGO },
  request,
  ...over,
});
const samples = (values: Record<string, number>): Map<string, PodSample> =>
  new Map(Object.entries(values).map(([n, v]) => [n, { value: v, timestamp: NOW - 5000, windowMs: 10_000 }]));

describe('replica calculator (replica_calculator_test.go)', () => {
  const cases: Array<{
    name: string;
    current: number;
    pods: PodInfo[];
    usage: Record<string, number>;
    target: number;
    replicas?: number;
    utilization?: number;
    error?: string;
  }> = [
    {
      name: 'scale up',
      current: 3,
      pods: [pod('a', 1000), pod('b', 1000), pod('c', 1000)],
      usage: { a: 300, b: 500, c: 700 },
      target: 30,
      replicas: 5,
      utilization: 50,
    },
    {
      name: 'scale up, an unready pod counts as 0 %',
      current: 3,
      pods: [
        pod('a', 1000, { ready: { status: 'False', lastTransitionTime: NOW - 60_000 }, startTime: NOW - 90_000 }),
        pod('b', 1000),
        pod('c', 1000),
      ],
      usage: { a: 300, b: 500, c: 700 },
      target: 30,
      replicas: 4,
      utilization: 60,
    },
    {
      name: 'scale up, a pending pod counts as 0 %',
      current: 3,
      pods: [pod('a', 1000, { phase: 'Pending' }), pod('b', 1000), pod('c', 1000)],
      usage: { b: 500, c: 700 },
      target: 30,
      replicas: 4,
      utilization: 60,
    },
    {
      name: 'scale down',
      current: 5,
      pods: ['a', 'b', 'c', 'd', 'e'].map((n) => pod(n, 1000)),
      usage: { a: 100, b: 300, c: 500, d: 250, e: 250 },
      target: 50,
      replicas: 3,
      utilization: 28,
    },
    {
      name: 'scale down ignores deleting and failed pods',
      current: 5,
      pods: [
        ...['a', 'b', 'c', 'd', 'e'].map((n) => pod(n, 1000)),
        pod('f', 1000, { deleting: true }),
        pod('g', 1000, { phase: 'Failed' }),
      ],
      usage: { a: 100, b: 300, c: 500, d: 250, e: 250, f: 10, g: 10 },
      target: 50,
      replicas: 3,
      utilization: 28,
    },
    {
      name: 'within the tolerance',
      current: 3,
      pods: [pod('a', 900), pod('b', 1000), pod('c', 1100)],
      usage: { a: 1010, b: 1070, c: 1000 },
      target: 100,
      replicas: 3,
      utilization: 102,
    },
    {
      name: 'missing metrics on a scale-up count as 0 %',
      current: 4,
      pods: ['a', 'b', 'c', 'd'].map((n) => pod(n, 1000)),
      usage: { a: 1000, b: 1000, c: 1000 },
      target: 50,
      replicas: 6,
      utilization: 100,
    },
    {
      name: 'missing metrics on a scale-down count as 100 %',
      current: 4,
      pods: ['a', 'b', 'c', 'd'].map((n) => pod(n, 1000)),
      usage: { a: 100, b: 100, c: 100 },
      target: 50,
      replicas: 3,
      utilization: 10,
    },
    {
      name: 'missing metrics would flip the direction: no change',
      current: 2,
      pods: ['a', 'b'].map((n) => pod(n, 1000)),
      usage: { a: 450 },
      target: 50,
      replicas: 2,
      utilization: 45,
    },
    {
      name: 'a pod still starting without a whole sample window since ready counts as 0 %: within tolerance',
      current: 2,
      pods: [
        pod('a', 1000),
        pod('b', 1000, { startTime: NOW - 20_000, ready: { status: 'True', lastTransitionTime: NOW - 8000 } }),
      ],
      usage: { a: 1000, b: 1000 },
      target: 50,
      replicas: 2,
      utilization: 100,
    },
    {
      name: 'no pods',
      current: 1,
      pods: [],
      usage: {},
      target: 50,
      error: 'no pods returned by selector while calculating replica count',
    },
    {
      name: 'no metrics for ready pods',
      current: 1,
      pods: [pod('a', 1000, { phase: 'Pending' })],
      usage: {},
      target: 50,
      error: 'did not receive metrics for targeted pods (pods might be unready)',
    },
    {
      name: 'a missing request',
      current: 1,
      pods: [pod('a', undefined, { missingRequestContainer: 'c' })],
      usage: { a: 10 },
      target: 50,
      error: 'missing request for cpu in container c of Pod a',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = resourceReplicas(
        { currentReplicas: c.current, resource: 'cpu', pods: c.pods, metrics: samples(c.usage), now: NOW },
        c.target,
      );
      if (c.error) {
        expect(r).toEqual({ ok: false, error: c.error });
        return;
      }
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.replicas).toBe(c.replicas);
      expect(r.utilization).toBe(c.utilization);
    });
  }

  it('an average value target (GetRawResourceReplicas)', () => {
    const r = rawResourceReplicas(
      {
        currentReplicas: 3,
        resource: 'memory',
        pods: ['a', 'b', 'c'].map((n) => pod(n, 1000)),
        metrics: samples({ a: 300_000, b: 500_000, c: 700_000 }),
        now: NOW,
      },
      250_000,
    );
    expect(r).toMatchObject({ ok: true, replicas: 6, rawAverage: 500_000 });
  });
});

describe('normalisation (horizontal.go)', () => {
  it('without behavior: scale up at most to max(2x, 4)', () => {
    const n = normalizeDesiredReplicas(newHistory(), 2, 10, 1, 20, NOW);
    expect(n.replicas).toBe(4);
    expect(n.scalingLimited).toEqual({
      status: 'True',
      reason: 'ScaleUpLimit',
      message: 'the desired replica count is increasing faster than the maximum scale rate',
    });
    expect(n.ableToScale.reason).toBe('ReadyForNewScale');
  });
  it('without behavior: max and min clamp', () => {
    expect(normalizeDesiredReplicas(newHistory(), 3, 10, 1, 3, NOW)).toMatchObject({
      replicas: 3,
      scalingLimited: { status: 'True', reason: 'TooManyReplicas' },
    });
    expect(normalizeDesiredReplicas(newHistory(), 3, 0, 2, 5, NOW)).toMatchObject({
      replicas: 2,
      scalingLimited: { status: 'True', reason: 'TooFewReplicas' },
    });
    expect(normalizeDesiredReplicas(newHistory(), 3, 4, 1, 5, NOW)).toMatchObject({
      replicas: 4,
      scalingLimited: { status: 'False', reason: 'DesiredWithinRange' },
    });
  });
  it('without behavior: the highest recommendation of the last 5 minutes wins', () => {
    const h = newHistory();
    h.recommendations.push({ replicas: 5, at: NOW - 60_000 }, { replicas: 9, at: NOW - 6 * 60_000 });
    const n = normalizeDesiredReplicas(h, 5, 2, 1, 10, NOW);
    expect(n.replicas).toBe(5);
    expect(n.ableToScale.reason).toBe('ScaleDownStabilized');
    // the old sample is replaced by this recommendation
    expect(h.recommendations).toEqual([
      { replicas: 5, at: NOW - 60_000 },
      { replicas: 2, at: NOW },
    ]);
    expect(normalizeDesiredReplicas(newHistory(), 5, 2, 1, 10, NOW).replicas).toBe(2);
  });
  it('behavior: default scale-up policies (4 pods or 100 % per 15 s, the larger)', () => {
    expect(normalizeWithBehaviors(newHistory(), {}, 1, 10, 1, 20, NOW)).toMatchObject({
      replicas: 5,
      scalingLimited: { status: 'True', reason: 'ScaleUpLimit' },
    });
    expect(normalizeWithBehaviors(newHistory(), {}, 10, 40, 1, 50, NOW).replicas).toBe(20);
    // a scale-up 10 s ago used the period's budget
    const h = newHistory();
    storeScaleEvent(h, {}, 1, 5, NOW - 10_000);
    expect(normalizeWithBehaviors(h, {}, 5, 10, 1, 20, NOW).replicas).toBe(5);
    storeScaleEvent(h, {}, 5, 7, NOW - 20_000);
  });
  it('behavior: Min select policy, Disabled, and a scale-down rate', () => {
    const up = {
      selectPolicy: 'Min',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 60 },
        { type: 'Percent', value: 100, periodSeconds: 60 },
      ],
    };
    expect(normalizeWithBehaviors(newHistory(), { scaleUp: up }, 10, 40, 1, 50, NOW).replicas).toBe(14);
    expect(
      normalizeWithBehaviors(newHistory(), { scaleUp: { selectPolicy: 'Disabled' } }, 10, 40, 1, 50, NOW),
    ).toMatchObject({ replicas: 10, scalingLimited: { reason: 'ScaleUpLimit' } });
    const down = { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] };
    expect(normalizeWithBehaviors(newHistory(), { scaleDown: down }, 10, 1, 1, 50, NOW)).toMatchObject({
      replicas: 8,
      scalingLimited: { status: 'True', reason: 'ScaleDownLimit' },
    });
  });
  it('behavior: stabilization windows in both directions', () => {
    const h = newHistory();
    h.recommendations.push({ replicas: 8, at: NOW - 100_000 });
    expect(
      normalizeWithBehaviors(h, { scaleDown: { stabilizationWindowSeconds: 300 } }, 8, 2, 1, 10, NOW),
    ).toMatchObject({ replicas: 8, ableToScale: { reason: 'ScaleDownStabilized' } });
    const h2 = newHistory();
    h2.recommendations.push({ replicas: 8, at: NOW - 100_000 });
    expect(
      normalizeWithBehaviors(h2, { scaleDown: { stabilizationWindowSeconds: 60 } }, 8, 2, 1, 10, NOW).replicas,
    ).toBe(2);
    const h3 = newHistory();
    h3.recommendations.push({ replicas: 3, at: NOW - 10_000 });
    expect(normalizeWithBehaviors(h3, { scaleUp: { stabilizationWindowSeconds: 60 } }, 3, 6, 1, 10, NOW)).toMatchObject(
      { replicas: 3, ableToScale: { reason: 'ScaleUpStabilized' } },
    );
  });
});

const hpa = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default', ...meta },
  spec,
});
const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };
const msgs = (obj: KubeObject) => {
  horizontalPodAutoscaler.defaults!(obj);
  return horizontalPodAutoscaler.validate(obj).map((c) => `${c.field}: ${c.message}`);
};

describe('validation (pkg/apis/autoscaling/validation)', () => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['valid with defaults', { scaleTargetRef: ref, maxReplicas: 3 }, []],
    [
      'replica bounds',
      { scaleTargetRef: ref, minReplicas: 0, maxReplicas: 0 },
      [
        'spec.minReplicas: Invalid value: 0: must be greater than or equal to 1',
        'spec.maxReplicas: Invalid value: 0: must be greater than 0',
      ],
    ],
    [
      'max below min',
      { scaleTargetRef: ref, minReplicas: 5, maxReplicas: 3 },
      ['spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`'],
    ],
    [
      'target reference',
      { scaleTargetRef: { name: 'a/b' }, maxReplicas: 3 },
      [
        'spec.scaleTargetRef.kind: Required value',
        'spec.scaleTargetRef.name: Invalid value: "a/b": may not contain \'/\'',
      ],
    ],
    [
      'resource metric targets',
      {
        scaleTargetRef: ref,
        maxReplicas: 3,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } },
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 0 } } },
          {
            type: 'Resource',
            resource: { name: 'memory', target: { type: 'Bad', averageUtilization: 5, averageValue: '-1' } },
          },
          { type: 'Pods' },
          { type: 'Nope' },
        ],
      },
      [
        'spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization',
        'spec.metrics[1].resource.target.averageUtilization: Invalid value: 0: must be greater than 0',
        'spec.metrics[2].resource.target.type: Invalid value: "Bad": must be either Utilization, Value, or AverageValue',
        'spec.metrics[2].resource.target.averageValue: Invalid value: "-1": must be positive',
        'spec.metrics[2].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization',
        'spec.metrics[3].pods: Required value: must populate information for the given metric source',
        'spec.metrics[4].type: Unsupported value: "Nope": supported values: "ContainerResource", "External", "Object", "Pods", "Resource"',
      ],
    ],
    [
      'behavior',
      {
        scaleTargetRef: ref,
        maxReplicas: 3,
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 3601,
            selectPolicy: 'Most',
            policies: [{ type: 'Pods', value: 0, periodSeconds: 1801 }],
          },
          scaleDown: { stabilizationWindowSeconds: -1 },
        },
      },
      [
        'spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600',
        'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Most": supported values: "Disabled", "Max", "Min"',
        'spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero',
        'spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800',
        'spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero',
      ],
    ],
  ];
  for (const [name, spec, want] of cases) it(name, () => expect(msgs(hpa(spec))).toEqual(want));

  it('defaults: minReplicas 1, cpu 80 %, behavior filled only when given', () => {
    const o = hpa({ scaleTargetRef: ref, maxReplicas: 3 });
    horizontalPodAutoscaler.defaults!(o);
    expect(o.spec).toEqual({
      scaleTargetRef: ref,
      maxReplicas: 3,
      minReplicas: 1,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
      ],
    });
    const b = hpa({ scaleTargetRef: ref, maxReplicas: 3, behavior: { scaleUp: { stabilizationWindowSeconds: 30 } } });
    horizontalPodAutoscaler.defaults!(b);
    expect(b.spec.behavior).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 30,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      },
    });
  });
});

describe('v1 conversion and the TARGETS cell', () => {
  it('round-trips metrics v1 lacks through its annotations', () => {
    const v2 = hpa({
      scaleTargetRef: ref,
      minReplicas: 1,
      maxReplicas: 5,
      metrics: [
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
      ],
      behavior: {
        scaleDown: {
          stabilizationWindowSeconds: 10,
          selectPolicy: 'Max',
          policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
        },
      },
    });
    v2.status = {
      currentReplicas: 2,
      desiredReplicas: 3,
      currentMetrics: [
        { type: 'Resource', resource: { name: 'memory', current: { averageValue: '50Mi' } } },
        { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 70, averageValue: '70m' } } },
      ],
      conditions: [
        {
          type: 'AbleToScale',
          status: 'True',
          reason: 'SucceededRescale',
          message: 'x',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    const v1 = hpaToV1(v2);
    expect(v1.spec).toEqual({
      scaleTargetRef: ref,
      minReplicas: 1,
      maxReplicas: 5,
      targetCPUUtilizationPercentage: 60,
    });
    expect(v1.status).toEqual({ currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 70 });
    expect(JSON.parse(v1.metadata.annotations![METRIC_SPECS_ANNOTATION]!)).toEqual([
      { type: 'Resource', resource: { name: 'memory', targetAverageValue: '100Mi' } },
    ]);
    const back = hpaFromV1(v1);
    expect(back.apiVersion).toBe('autoscaling/v2');
    expect(back.metadata.annotations).toBeUndefined();
    // the CPU target comes first on the way back, as upstream converts
    expect(back.spec.metrics).toEqual([v2.spec.metrics[1], v2.spec.metrics[0]]);
    expect(back.spec.behavior).toEqual(v2.spec.behavior);
    expect(back.status.currentMetrics).toEqual(v2.status.currentMetrics);
    expect(back.status.conditions).toEqual(v2.status.conditions);
  });
  it('a bare v1 object gets the implicit 80 % CPU target', () => {
    const v1: KubeObject = {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'x' },
      spec: { scaleTargetRef: ref, maxReplicas: 2 },
    };
    expect(hpaFromV1(v1).spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
    ]);
  });
  it('formats metrics as printers.go does', () => {
    const cpu = {
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
    };
    const mem = {
      type: 'Resource',
      resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '0.5Gi' } },
    };
    expect(formatHpaMetrics([cpu], undefined)).toBe('cpu: <unknown>/50%');
    expect(
      formatHpaMetrics([cpu], [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 63 } } }]),
    ).toBe('cpu: 63%/50%');
    expect(
      formatHpaMetrics(
        [mem],
        [{ type: 'Resource', resource: { name: 'memory', current: { averageValue: '1048576k' } } }],
      ),
    ).toBe('memory: 1048576k/512Mi');
    expect(formatHpaMetrics([cpu, mem, cpu], undefined)).toBe(
      'cpu: <unknown>/50%, memory: <unknown>/512Mi + 1 more...',
    );
    expect(formatHpaMetrics([], undefined)).toBe('<none>');
  });
});

describe('both versions through the REST storage view', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
  });
  afterEach(() => store.close());

  const v1def = findResource('autoscaling', 'v1', 'horizontalpodautoscalers')!;
  const v2def = findResource('autoscaling', 'v2', 'horizontalpodautoscalers')!;
  const v1body = {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web' },
    spec: { scaleTargetRef: ref, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
  };

  it('creates through v1, stores v2, patches through v1', async () => {
    const view = storageFor(storage, v1def);
    const created = await view.create(v1def, 'default', v1body);
    expect(created.apiVersion).toBe('autoscaling/v1');
    expect(created.spec.targetCPUUtilizationPercentage).toBe(50);
    const stored = await storage.get(v2def, 'default', 'web');
    expect(stored.spec.metrics[0].resource.target.averageUtilization).toBe(50);
    expect(stored.status).toEqual({ desiredReplicas: 0 });
    const patched = await view.patch(v1def, 'default', 'web', 'merge', {
      spec: { targetCPUUtilizationPercentage: 70 },
    });
    expect(patched.object.spec.targetCPUUtilizationPercentage).toBe(70);
    expect((await storage.get(v2def, 'default', 'web')).spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
    ]);
    const list = await view.list(v1def, 'default');
    expect(list.apiVersion).toBe('autoscaling/v1');
    expect(list.items[0]!.spec.targetCPUUtilizationPercentage).toBe(70);
    expect(storageFor(storage, v2def)).toBe(storage);
  });

  it('refuses an invalid object with 422 causes, and unknown v1 fields when strict', async () => {
    const view = storageFor(storage, v1def);
    const err = await view
      .create(v1def, 'default', {
        ...v1body,
        spec: { ...v1body.spec, targetCPUUtilizationPercentage: 0, maxReplicas: 0 },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'HorizontalPodAutoscaler.autoscaling "web" is invalid: [spec.maxReplicas: Invalid value: 0: must be greater than 0, spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`, spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0]',
    );
    const strict = await view
      .create(v1def, 'default', { ...v1body, spec: { ...v1body.spec, metrics: [] } }, { fieldValidation: 'Strict' })
      .catch((x: unknown) => x);
    expect((strict as ApiError).code).toBe(400);
    expect((strict as ApiError).message).toBe('strict decoding error: unknown field "spec.metrics"');
  });
});

describe('protobuf body of kubectl autoscale (autoscaling/v1)', () => {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const lField = (f: number, v: number[] | string): number[] => {
    const b = typeof v === 'string' ? [...Buffer.from(v)] : v;
    return [...varint((f << 3) | 2), ...varint(b.length), ...b];
  };
  const vField = (f: number, n: number): number[] => [...varint(f << 3), ...varint(n)];
  it('decodes metadata, spec and the CPU target', () => {
    const spec = [
      ...lField(1, [...lField(1, 'Deployment'), ...lField(2, 'web'), ...lField(3, 'apps/v1')]),
      ...vField(2, 1),
      ...vField(3, 3),
      ...vField(4, 50),
    ];
    const raw = [...lField(1, lField(1, 'web')), ...lField(2, spec), ...lField(3, [])];
    const body = Buffer.from([
      0x6b,
      0x38,
      0x73,
      0x00,
      ...lField(1, [...lField(1, 'autoscaling/v1'), ...lField(2, 'HorizontalPodAutoscaler')]),
      ...lField(2, raw),
    ]);
    expect(decodeKubernetesProtobuf(body)).toMatchObject({
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
        minReplicas: 1,
        maxReplicas: 3,
        targetCPUUtilizationPercentage: 50,
      },
    });
  });
});
