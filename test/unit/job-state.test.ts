// Job decisions as tables: how many pods to create/delete, when the job is complete,
// which pods count as failed, the pod-creation back-off, backoffLimit with OnFailure,
// activeDeadlineSeconds and ttlSecondsAfterFinished.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  activeDeadlineRemainingMs,
  activePodsForRemoval,
  backoffRemainingMs,
  ensureCondition,
  finishedTime,
  firstPendingIndexes,
  formatIndexes,
  indexedPodsForRemoval,
  isComplete,
  isPodFailed,
  parseIndexes,
  pastBackoffLimitOnFailure,
  podDelta,
  ttlRemainingMs,
  wantActive,
  type JobCondition,
} from '../../controlplane/controllers/job/job-state.js';
import { podForJob } from '../../controlplane/controllers/job/job-pods.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function job(spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name: 'pi', namespace: 'default', uid: 'job-uid' },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      template: {
        metadata: { labels: { app: 'pi' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
      },
      ...spec,
    },
    status,
  };
}

describe('Job: pods to create or delete', () => {
  const cases: Array<{
    completions: number | null;
    parallelism: number;
    active: number;
    succeeded: number;
    terminating?: number;
    policy?: string;
    want: number;
    wantActive: number;
  }> = [
    { completions: 3, parallelism: 2, active: 0, succeeded: 0, want: 2, wantActive: 2 },
    { completions: 3, parallelism: 2, active: 2, succeeded: 0, want: 0, wantActive: 2 },
    { completions: 3, parallelism: 2, active: 1, succeeded: 1, want: 1, wantActive: 2 },
    { completions: 3, parallelism: 2, active: 1, succeeded: 2, want: 0, wantActive: 1 },
    { completions: 3, parallelism: 2, active: 2, succeeded: 2, want: -1, wantActive: 1 },
    { completions: 3, parallelism: 2, active: 0, succeeded: 3, want: 0, wantActive: 0 },
    { completions: 3, parallelism: 5, active: 0, succeeded: 0, want: 3, wantActive: 3 },
    { completions: 5, parallelism: 2, active: 4, succeeded: 0, want: -2, wantActive: 2 },
    // work queue (no completions): parallelism until the first success, then leave the rest running
    { completions: null, parallelism: 3, active: 0, succeeded: 0, want: 3, wantActive: 3 },
    { completions: null, parallelism: 3, active: 1, succeeded: 1, want: 0, wantActive: 1 },
    // podReplacementPolicy Failed: terminating pods hold back their replacements
    {
      completions: 2,
      parallelism: 2,
      active: 0,
      succeeded: 0,
      terminating: 1,
      policy: 'Failed',
      want: 1,
      wantActive: 2,
    },
    {
      completions: 2,
      parallelism: 2,
      active: 0,
      succeeded: 0,
      terminating: 1,
      policy: 'TerminatingOrFailed',
      want: 2,
      wantActive: 2,
    },
  ];
  for (const c of cases) {
    it(`completions=${c.completions} parallelism=${c.parallelism} active=${c.active} succeeded=${c.succeeded}${c.policy ? ` ${c.policy} terminating=${c.terminating}` : ''} -> ${c.want}`, () => {
      const j = job({ completions: c.completions, parallelism: c.parallelism, podReplacementPolicy: c.policy });
      expect(wantActive(j, c.active, c.succeeded)).toBe(c.wantActive);
      expect(podDelta(j, c.active, c.succeeded, c.terminating ?? 0)).toBe(c.want);
    });
  }
});

describe('Job: complete', () => {
  const cases: Array<{ completions: number | null; succeeded: number; active: number; want: boolean }> = [
    { completions: 3, succeeded: 3, active: 0, want: true },
    { completions: 3, succeeded: 2, active: 0, want: false },
    { completions: 3, succeeded: 3, active: 1, want: false },
    { completions: 3, succeeded: 4, active: 0, want: true },
    { completions: null, succeeded: 1, active: 0, want: true },
    { completions: null, succeeded: 1, active: 2, want: false },
    { completions: null, succeeded: 0, active: 0, want: false },
    { completions: 0, succeeded: 0, active: 0, want: true },
  ];
  for (const c of cases) {
    it(`completions=${c.completions} succeeded=${c.succeeded} active=${c.active} -> ${c.want}`, () => {
      expect(isComplete(job({ completions: c.completions }), c.succeeded, c.active)).toBe(c.want);
    });
  }
});

describe('Job: failed pods and back-off', () => {
  const p = (phase: string, deleting = false): KubeObject => ({
    metadata: { name: 'x', ...(deleting ? { deletionTimestamp: iso(NOW) } : {}) },
    status: { phase },
  });

  it('counts Failed pods, and pods deleted before succeeding unless only failed pods are replaced', () => {
    expect(isPodFailed(p('Failed'), job())).toBe(true);
    expect(isPodFailed(p('Running'), job())).toBe(false);
    expect(isPodFailed(p('Running', true), job())).toBe(true);
    expect(isPodFailed(p('Succeeded', true), job())).toBe(false);
    expect(isPodFailed(p('Running', true), job({ podReplacementPolicy: 'Failed' }))).toBe(false);
  });

  const backoffCases: Array<{ name: string; finished: Array<[boolean, number]>; want: number }> = [
    { name: 'no failures: no wait', finished: [], want: 0 },
    { name: 'one failure 3 s ago: 7 s left of 10 s', finished: [[true, -3_000]], want: 7_000 },
    {
      name: 'two failures: 20 s from the last',
      finished: [
        [true, -30_000],
        [true, -5_000],
      ],
      want: 15_000,
    },
    {
      name: 'three failures: 40 s',
      finished: [
        [true, -50_000],
        [true, -45_000],
        [true, -1_000],
      ],
      want: 39_000,
    },
    {
      name: 'a success resets the count',
      finished: [
        [true, -50_000],
        [false, -40_000],
        [true, -4_000],
      ],
      want: 6_000,
    },
    {
      name: 'failures before the last success do not count',
      finished: [
        [true, -5_000],
        [false, -1_000],
      ],
      want: 0,
    },
    { name: 'back-off has passed', finished: [[true, -11_000]], want: 0 },
    {
      name: 'capped at 6 minutes',
      finished: Array.from({ length: 12 }, (_, i) => [true, -1000 - i] as [boolean, number]),
      want: 360_000 - 1000,
    },
  ];
  for (const c of backoffCases) {
    it(c.name, () => {
      expect(
        backoffRemainingMs(
          c.finished.map(([failed, dt]) => ({ failed, at: NOW + dt })),
          NOW,
        ),
      ).toBe(c.want);
    });
  }

  it('takes a finished pod time from its containers, else Ready=False, else deletion, else creation', () => {
    const t = (s: number) => iso(NOW + s * 1000);
    expect(
      finishedTime({
        metadata: { creationTimestamp: t(0) },
        status: {
          containerStatuses: [
            { state: { terminated: { finishedAt: t(5) } } },
            { state: { terminated: { finishedAt: t(9) } } },
          ],
        },
      }),
    ).toBe(NOW + 9000);
    expect(
      finishedTime({
        metadata: { creationTimestamp: t(0) },
        status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: t(4) }] },
      }),
    ).toBe(NOW + 4000);
    expect(finishedTime({ metadata: { creationTimestamp: t(0), deletionTimestamp: t(7) }, status: {} })).toBe(
      NOW + 7000,
    );
    expect(finishedTime({ metadata: { creationTimestamp: t(1) }, status: {} })).toBe(NOW + 1000);
  });

  it('with restartPolicy OnFailure, container restarts of running pods reach backoffLimit', () => {
    const running = (restarts: number): KubeObject => ({
      metadata: { name: 'r' },
      status: { phase: 'Running', containerStatuses: [{ restartCount: restarts }] },
    });
    const onFailure = (limit: number) =>
      job({ backoffLimit: limit, template: { spec: { restartPolicy: 'OnFailure' } } });
    expect(pastBackoffLimitOnFailure(onFailure(2), [running(1)])).toBe(false);
    expect(pastBackoffLimitOnFailure(onFailure(2), [running(1), running(1)])).toBe(true);
    expect(pastBackoffLimitOnFailure(onFailure(0), [running(1)])).toBe(true);
    expect(pastBackoffLimitOnFailure(job({ backoffLimit: 0 }), [running(5)])).toBe(false);
  });

  it('removes the cheapest pods first: unscheduled, pending, not ready, newest', () => {
    const mk = (name: string, node: string, phase: string, ready: boolean, created: number): KubeObject => ({
      metadata: { name, creationTimestamp: iso(NOW + created) },
      spec: node ? { nodeName: node } : {},
      status: {
        phase,
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(NOW) }],
      },
    });
    const pods = [
      mk('running-ready', 'n', 'Running', true, 0),
      mk('unscheduled', '', 'Pending', false, 0),
      mk('pending', 'n', 'Pending', false, 0),
      mk('running-old', 'n', 'Running', false, 0),
      mk('running-new', 'n', 'Running', false, 10_000),
    ];
    expect(activePodsForRemoval(pods, 4).map((p) => p.metadata.name)).toEqual([
      'unscheduled',
      'pending',
      'running-new',
      'running-old',
    ]);
  });
});

describe('Job: deadlines, conditions, ttl', () => {
  it('activeDeadlineSeconds counts from startTime, not while suspended', () => {
    expect(activeDeadlineRemainingMs(job({ activeDeadlineSeconds: 10 }), NOW - 4000, NOW)).toBe(6000);
    expect(activeDeadlineRemainingMs(job({ activeDeadlineSeconds: 10 }), NOW - 10_000, NOW)).toBe(0);
    expect(
      activeDeadlineRemainingMs(job({ activeDeadlineSeconds: 10, suspend: true }), NOW - 20_000, NOW),
    ).toBeUndefined();
    expect(activeDeadlineRemainingMs(job(), NOW - 20_000, NOW)).toBeUndefined();
  });

  it('ensureCondition adds True conditions, flips existing ones, never adds False', () => {
    const conds: JobCondition[] = [];
    expect(ensureCondition(conds, 'Suspended', 'False', 'JobResumed', 'Job resumed', NOW)).toBe(false);
    expect(conds).toEqual([]);
    expect(ensureCondition(conds, 'Suspended', 'True', 'JobSuspended', 'Job suspended', NOW)).toBe(true);
    expect(ensureCondition(conds, 'Suspended', 'True', 'JobSuspended', 'Job suspended', NOW)).toBe(false);
    expect(ensureCondition(conds, 'Suspended', 'False', 'JobResumed', 'Job resumed', NOW + 1000)).toBe(true);
    expect(conds).toEqual([
      {
        type: 'Suspended',
        status: 'False',
        reason: 'JobResumed',
        message: 'Job resumed',
        lastProbeTime: iso(NOW + 1000),
        lastTransitionTime: iso(NOW + 1000),
      },
    ]);
  });

  it('ttlSecondsAfterFinished counts from the Complete/Failed transition', () => {
    const finished = (type: string, at: number, ttl?: number) =>
      job({ ttlSecondsAfterFinished: ttl }, { conditions: [{ type, status: 'True', lastTransitionTime: iso(at) }] });
    expect(ttlRemainingMs(finished('Complete', NOW - 3000, 10), NOW)).toBe(7000);
    expect(ttlRemainingMs(finished('Failed', NOW - 30_000, 10), NOW)).toBe(-20_000);
    expect(ttlRemainingMs(finished('Complete', NOW, 0), NOW)).toBe(0);
    expect(ttlRemainingMs(finished('Complete', NOW - 3000), NOW)).toBeUndefined();
    expect(ttlRemainingMs(finished('SuccessCriteriaMet', NOW - 3000, 10), NOW)).toBeUndefined();
  });
});

describe('Job pods', () => {
  it('carry the template, the job labels, generateName, the tracking finalizer and a controller reference', () => {
    const p = podForJob(job());
    expect(p.metadata.generateName).toBe('pi-');
    expect(p.metadata.labels).toEqual({
      app: 'pi',
      'batch.kubernetes.io/job-name': 'pi',
      'job-name': 'pi',
      'batch.kubernetes.io/controller-uid': 'job-uid',
      'controller-uid': 'job-uid',
    });
    expect(p.metadata.finalizers).toEqual(['batch.kubernetes.io/job-tracking']);
    expect(p.metadata.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: 'job-uid', controller: true, blockOwnerDeletion: true },
    ]);
    expect(p.spec.restartPolicy).toBe('Never');
    expect(podForJob({ ...job(), metadata: { name: 'x'.repeat(70), uid: 'u' } }).metadata.generateName).toHaveLength(
      58,
    );
  });
});

describe('Job: Indexed completion mode', () => {
  const ix = (i: number | string, name = `p${i}`, phase = 'Running'): KubeObject => ({
    metadata: {
      name,
      annotations: { 'batch.kubernetes.io/job-completion-index': String(i) },
      creationTimestamp: iso(NOW),
    },
    spec: { nodeName: 'n' },
    status: { phase },
  });
  const indexed = (spec: Record<string, unknown> = {}) =>
    job({ completionMode: 'Indexed', completions: 5, parallelism: 3, ...spec });

  it('parses and formats completedIndexes as intervals', () => {
    expect(parseIndexes('0-2,4', 5)).toEqual([0, 1, 2, 4]);
    expect(parseIndexes('1,3-9', 5)).toEqual([1, 3, 4]);
    expect(parseIndexes(undefined, 5)).toEqual([]);
    expect(formatIndexes([4, 0, 2, 1])).toBe('0-2,4');
    expect(formatIndexes([3])).toBe('3');
    expect(formatIndexes([])).toBe('');
  });

  const pendingCases: Array<{
    name: string;
    succeeded: number[];
    active: number[];
    terminating?: number[];
    policy?: string;
    count: number;
    want: number[];
  }> = [
    { name: 'the lowest free indexes first', succeeded: [], active: [], count: 3, want: [0, 1, 2] },
    { name: 'skipping succeeded and running ones', succeeded: [0, 2], active: [1], count: 3, want: [3, 4] },
    { name: 'never past completions', succeeded: [0, 1, 2, 3], active: [], count: 3, want: [4] },
    {
      name: 'terminating indexes are taken with podReplacementPolicy Failed',
      succeeded: [],
      active: [],
      terminating: [0],
      policy: 'Failed',
      count: 2,
      want: [1, 2],
    },
    { name: 'but free with TerminatingOrFailed', succeeded: [], active: [], terminating: [0], count: 2, want: [0, 1] },
  ];
  for (const c of pendingCases) {
    it(`pending indexes: ${c.name}`, () => {
      const j = indexed({ podReplacementPolicy: c.policy });
      expect(
        firstPendingIndexes(
          j,
          c.succeeded,
          c.active.map((i) => ix(i)),
          (c.terminating ?? []).map((i) => ix(i)),
          c.count,
        ),
      ).toEqual(c.want);
    });
  }

  it('removes pods with a repeated or invalid index first, then the cheapest', () => {
    const pods = [ix(0, 'a'), ix(0, 'b', 'Pending'), ix(7, 'out'), ix('x', 'bad'), ix(1, 'c'), ix(2, 'd')];
    expect(
      indexedPodsForRemoval(indexed(), pods, 0)
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(['b', 'bad', 'out']);
    expect(indexedPodsForRemoval(indexed(), pods, 4)).toHaveLength(4);
  });

  it('pods carry their index: annotation, label, hostname, generateName and JOB_COMPLETION_INDEX', () => {
    const p = podForJob(indexed(), 3);
    expect(p.metadata.generateName).toBe('pi-3-');
    expect(p.metadata.annotations).toEqual({ 'batch.kubernetes.io/job-completion-index': '3' });
    expect(p.metadata.labels!['batch.kubernetes.io/job-completion-index']).toBe('3');
    expect(p.spec.hostname).toBe('pi-3');
    expect(p.spec.containers[0].env).toEqual([
      {
        name: 'JOB_COMPLETION_INDEX',
        valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
      },
    ]);
  });
});
