// Deployment status and conditions as Kubernetes writes them (calculateStatus,
// syncRolloutStatus, checkPausedConditions, requeueStuckDeployment).
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  applyPausedCondition,
  calculateStatus,
  deploymentComplete,
  rolloutStatus,
  stuckRecheckDelay,
  type DeploymentCondition,
} from '../../controlplane/controllers/deployment/status.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const at = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function dep(replicas: number, status: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name: 'web', generation: 2 },
    spec: {
      replicas,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      progressDeadlineSeconds: 600,
      ...spec,
    },
    status,
  };
}

function rs(
  name: string,
  spec: number,
  st: { replicas?: number; ready?: number; available?: number },
  conditions?: unknown[],
): KubeObject {
  return {
    metadata: { name, uid: name },
    spec: { replicas: spec },
    status: {
      replicas: st.replicas ?? spec,
      readyReplicas: st.ready ?? 0,
      availableReplicas: st.available ?? 0,
      ...(conditions ? { conditions } : {}),
    },
  };
}

const cond = (st: { conditions?: DeploymentCondition[] }, type: string) => st.conditions?.find((c) => c.type === type);

describe('calculateStatus', () => {
  it('sums the ReplicaSets, updatedReplicas from the new one, and sets Available', () => {
    const oldRS = rs('old', 2, { ready: 2, available: 2 });
    const newRS = rs('new', 2, { ready: 1, available: 1 });
    const st = calculateStatus([oldRS, newRS], newRS, dep(4), NOW);
    expect(st).toMatchObject({
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 2,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 1,
    });
    expect(cond(st, 'Available')).toEqual({
      type: 'Available',
      status: 'True',
      lastUpdateTime: at(0),
      lastTransitionTime: at(0),
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    });
  });

  it('MinimumReplicasUnavailable below replicas - maxUnavailable; zero counters are omitted', () => {
    const newRS = rs('new', 3, { replicas: 0 });
    const st = calculateStatus([newRS], newRS, dep(3), NOW);
    expect(st).toEqual({
      observedGeneration: 2,
      unavailableReplicas: 3,
      conditions: [
        {
          type: 'Available',
          status: 'False',
          lastUpdateTime: at(0),
          lastTransitionTime: at(0),
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        },
      ],
    });
  });

  it('keeps the times of an unchanged condition and the collisionCount', () => {
    const prev = {
      type: 'Available',
      status: 'True',
      lastUpdateTime: at(-60),
      lastTransitionTime: at(-60),
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    };
    const newRS = rs('new', 1, { ready: 1, available: 1 });
    const st = calculateStatus([newRS], newRS, dep(1, { conditions: [prev], collisionCount: 2 }), NOW);
    expect(cond(st, 'Available')).toEqual(prev);
    expect(st.collisionCount).toBe(2);
  });
});

describe('rollout conditions (syncRolloutStatus)', () => {
  const progressing = (reason: string, status = 'True', t = -30) => ({
    type: 'Progressing',
    status,
    lastUpdateTime: at(t),
    lastTransitionTime: at(-300),
    reason,
    message: 'x',
  });

  it('NewReplicaSetAvailable once complete', () => {
    const newRS = rs('web-abc', 3, { ready: 3, available: 3 });
    const d = dep(3, { observedGeneration: 2, conditions: [progressing('ReplicaSetUpdated')] });
    const st = rolloutStatus([newRS], newRS, d, NOW);
    expect(deploymentComplete(d, st)).toBe(true);
    expect(cond(st, 'Progressing')).toEqual({
      type: 'Progressing',
      status: 'True',
      lastUpdateTime: at(0),
      lastTransitionTime: at(-300),
      reason: 'NewReplicaSetAvailable',
      message: 'ReplicaSet "web-abc" has successfully progressed.',
    });
  });

  it('ReplicaSetUpdated refreshes lastUpdateTime on progress, keeping lastTransitionTime', () => {
    const oldRS = rs('old', 2, { ready: 2, available: 2 });
    const newRS = rs('web-abc', 2, { ready: 1, available: 1 });
    const d = dep(3, {
      replicas: 4,
      updatedReplicas: 1,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [progressing('ReplicaSetUpdated')],
    });
    const st = rolloutStatus([oldRS, newRS], newRS, d, NOW);
    expect(cond(st, 'Progressing')).toMatchObject({
      reason: 'ReplicaSetUpdated',
      lastUpdateTime: at(0),
      lastTransitionTime: at(-300),
      message: 'ReplicaSet "web-abc" is progressing.',
    });
  });

  it('no progress: unchanged until the deadline, then ProgressDeadlineExceeded', () => {
    const oldRS = rs('old', 3, { ready: 3, available: 3 });
    const newRS = rs('web-abc', 1, { ready: 0, available: 0 });
    const status = {
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 1,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 1,
    };
    const early = dep(3, { ...status, conditions: [progressing('NewReplicaSetCreated', 'True', -30)] });
    expect(cond(rolloutStatus([oldRS, newRS], newRS, early, NOW), 'Progressing')?.reason).toBe('NewReplicaSetCreated');
    expect(stuckRecheckDelay(early, rolloutStatus([oldRS, newRS], newRS, early, NOW), NOW)).toBe(571_000);
    const late = dep(3, { ...status, conditions: [progressing('NewReplicaSetCreated', 'True', -601)] });
    const st = rolloutStatus([oldRS, newRS], newRS, late, NOW);
    expect(cond(st, 'Progressing')).toEqual({
      type: 'Progressing',
      status: 'False',
      lastUpdateTime: at(0),
      lastTransitionTime: at(0),
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "web-abc" has timed out progressing.',
    });
    expect(stuckRecheckDelay(late, st, NOW)).toBe(0);
  });

  it('a completed rollout is left alone on resync; no deadline removes Progressing', () => {
    const newRS = rs('web-abc', 3, { ready: 3, available: 3 });
    const done = progressing('NewReplicaSetAvailable', 'True', -1000);
    const d = dep(3, { observedGeneration: 2, conditions: [done] });
    expect(cond(rolloutStatus([newRS], newRS, d, NOW), 'Progressing')).toEqual(done);
    const noDeadline = dep(3, { conditions: [done] }, { progressDeadlineSeconds: 2147483647 });
    expect(cond(rolloutStatus([newRS], newRS, noDeadline, NOW), 'Progressing')).toBeUndefined();
  });

  it('promotes a ReplicaSet ReplicaFailure condition', () => {
    const failure = {
      type: 'ReplicaFailure',
      status: 'True',
      lastTransitionTime: at(-5),
      reason: 'FailedCreate',
      message: 'quota',
    };
    const newRS = rs('web-abc', 1, { replicas: 0 }, [failure]);
    const st = rolloutStatus([newRS], newRS, dep(1), NOW);
    expect(cond(st, 'ReplicaFailure')).toMatchObject({ status: 'True', reason: 'FailedCreate', message: 'quota' });
  });
});

describe('pause and resume conditions', () => {
  it('DeploymentPaused then DeploymentResumed, both Unknown; never over ProgressDeadlineExceeded', () => {
    const d = dep(1, {}, { paused: true });
    expect(applyPausedCondition(d, NOW)).toBe(true);
    expect(cond(d.status, 'Progressing')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentPaused',
      message: 'Deployment is paused',
    });
    expect(applyPausedCondition(d, NOW)).toBe(false);
    delete d.spec.paused;
    expect(applyPausedCondition(d, NOW)).toBe(true);
    expect(cond(d.status, 'Progressing')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentResumed',
      message: 'Deployment is resumed',
    });
    const timedOut = dep(
      1,
      {
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            lastUpdateTime: at(0),
            lastTransitionTime: at(0),
            message: '',
          },
        ],
      },
      { paused: true },
    );
    expect(applyPausedCondition(timedOut, NOW)).toBe(false);
  });
});
