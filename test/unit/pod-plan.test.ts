// Tables over the agent's pure pod decisions: plan (what to start/kill), status
// (phase, container states, conditions) and kubelet's restart back-off.
import { describe, expect, it } from 'vitest';
import { BackOff } from '../../agent/pods/backoff.js';
import { computePodActions, type PlanPod } from '../../agent/pods/plan.js';
import { computePodStatus } from '../../agent/pods/status.js';
import { containerHash } from '../../agent/runtime/labels.js';
import type { RuntimeContainer } from '../../agent/runtime/types.js';

const UID = '11111111-2222-3333-4444-555555555555';
const spec = { name: 'app', image: 'busybox:1.36' };

function pod(
  over: Partial<PlanPod['spec']> = {},
  meta: Partial<PlanPod['metadata']> = {},
): PlanPod & { spec: { containers: { name: string; image?: string }[] } } {
  return {
    metadata: { uid: UID, name: 'p', namespace: 'default', ...meta },
    spec: { containers: [spec], restartPolicy: 'Always', ...over },
    status: { phase: 'Pending' },
  } as never;
}

function rc(over: Partial<RuntimeContainer>): RuntimeContainer {
  return {
    id: over.id ?? Math.random().toString(16).slice(2),
    name: '',
    type: 'container',
    podUid: UID,
    podName: 'p',
    namespace: 'default',
    containerName: 'app',
    attempt: 0,
    state: 'running',
    oomKilled: false,
    image: 'busybox:1.36',
    imageID: 'sha256:x',
    labels: {},
    hash: containerHash(spec as never),
    startedAt: '2026-11-22T10:00:00Z',
    createdAt: '2026-11-22T10:00:00Z',
    ...over,
  };
}
const sandbox = (over: Partial<RuntimeContainer> = {}) =>
  rc({ type: 'sandbox', containerName: 'POD', id: 'sb', ip: '172.17.0.9', hash: undefined, ...over });
const NOW = Date.parse('2026-11-22T10:01:00Z');

describe('computePodActions', () => {
  it('creates the sandbox and starts every container for a new pod', () => {
    const a = computePodActions(pod(), [], new BackOff(), NOW);
    expect(a).toMatchObject({
      createSandbox: true,
      killPod: false,
      sandboxAttempt: 0,
      start: [{ name: 'app', attempt: 0, init: false }],
      kill: [],
    });
  });

  it('does nothing for a healthy pod', () => {
    const a = computePodActions(pod(), [sandbox(), rc({})], new BackOff(), NOW);
    expect(a).toMatchObject({ createSandbox: false, killPod: false, start: [], kill: [], sandboxId: 'sb' });
  });

  it.each([
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 2, true],
    ['Never', 0, false],
    ['Never', 1, false],
  ])('restartPolicy %s, exit %d -> restart %s', (policy, exitCode, restart) => {
    const a = computePodActions(
      pod({ restartPolicy: policy }),
      [sandbox(), rc({ state: 'exited', exitCode, finishedAt: '2026-11-22T10:00:30Z' })],
      new BackOff(),
      NOW,
    );
    expect(a.start.length > 0).toBe(restart);
    if (restart) expect(a.start[0]).toMatchObject({ name: 'app', attempt: 1 });
  });

  it('waits out the back-off after a restart (CrashLoopBackOff)', () => {
    const b = new BackOff();
    b.next(`${UID}/app`, NOW - 5000); // restarted 5 s ago, delay now 10 s
    const exited = rc({ attempt: 1, state: 'exited', exitCode: 1, finishedAt: new Date(NOW - 2000).toISOString() });
    const a = computePodActions(pod(), [sandbox(), exited], b, NOW);
    expect(a.start).toEqual([]);
    expect(a.backingOff.app).toMatch(/^back-off 10s restarting failed container=app/);
    const later = computePodActions(pod(), [sandbox(), exited], b, NOW + 9000);
    expect(later.start).toEqual([{ name: 'app', attempt: 2, init: false }]);
  });

  it('restarts a container whose spec changed (image update)', () => {
    const changed = pod({ containers: [{ name: 'app', image: 'busybox:1.37' }] });
    const a = computePodActions(changed, [sandbox(), rc({ id: 'old' })], new BackOff(), NOW);
    expect(a.kill).toEqual([{ id: 'old', name: 'app', reason: 'Container app definition changed, will be restarted' }]);
    expect(a.start).toEqual([{ name: 'app', attempt: 1, init: false }]);
  });

  it('re-creates a dead sandbox and restarts the containers with it', () => {
    const a = computePodActions(pod(), [sandbox({ state: 'exited' }), rc({ id: 'c1' })], new BackOff(), NOW);
    expect(a).toMatchObject({ createSandbox: true, killPod: true, sandboxAttempt: 1 });
    expect(a.kill.map((k) => k.id)).toEqual(['c1']);
    expect(a.start).toEqual([{ name: 'app', attempt: 1, init: false }]);
  });

  it('kills everything of a pod being deleted', () => {
    const a = computePodActions(
      pod({}, { deletionTimestamp: '2026-11-22T10:00:50Z' }),
      [sandbox(), rc({})],
      new BackOff(),
      NOW,
    );
    expect(a).toMatchObject({ killPod: true, start: [], createSandbox: false });
  });

  it('runs init containers one at a time, in order, before the app', () => {
    const p = pod({ initContainers: [{ name: 'i1' }, { name: 'i2' }] });
    expect(computePodActions(p, [sandbox()], new BackOff(), NOW).start).toEqual([
      { name: 'i1', attempt: 0, init: true },
    ]);
    const i1Done = rc({ containerName: 'i1', state: 'exited', exitCode: 0 });
    expect(computePodActions(p, [sandbox(), i1Done], new BackOff(), NOW).start).toEqual([
      { name: 'i2', attempt: 0, init: true },
    ]);
    const i2Running = rc({ containerName: 'i2', state: 'running' });
    expect(computePodActions(p, [sandbox(), i1Done, i2Running], new BackOff(), NOW).start).toEqual([]);
    const i2Done = rc({ containerName: 'i2', state: 'exited', exitCode: 0 });
    expect(computePodActions(p, [sandbox(), i1Done, i2Done], new BackOff(), NOW).start).toEqual([
      { name: 'app', attempt: 0, init: false },
    ]);
  });

  it('garbage-collects old attempts beyond the newest two', () => {
    const cs = [0, 1, 2, 3].map((n) =>
      rc({ id: `a${n}`, attempt: n, state: 'exited', exitCode: 1, finishedAt: '2026-11-22T09:00:00Z' }),
    );
    const a = computePodActions(pod(), [sandbox(), ...cs], new BackOff(), NOW);
    expect(a.remove.sort()).toEqual(['a0', 'a1']);
  });
});

describe('computePodStatus', () => {
  const base = {
    hostIP: '10.0.0.5',
    waiting: {},
    startTime: '2026-11-22T10:00:00Z',
    now: '2026-11-22T10:01:00Z',
    qosClass: 'BestEffort',
  };

  it('Pending with ContainerCreating before anything runs', () => {
    const s = computePodStatus({ ...base, pod: pod(), observed: [] });
    expect(s.phase).toBe('Pending');
    expect(s.containerStatuses[0]).toMatchObject({
      name: 'app',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: 'ContainerCreating' } },
    });
    expect(s.podIP).toBeUndefined();
  });

  it('Running and Ready with pod IP and container IDs', () => {
    const s = computePodStatus({ ...base, pod: pod(), observed: [sandbox(), rc({ id: 'abc' })] });
    expect(s.phase).toBe('Running');
    expect(s.podIP).toBe('172.17.0.9');
    expect(s.hostIP).toBe('10.0.0.5');
    expect(s.containerStatuses[0]).toMatchObject({
      ready: true,
      started: true,
      containerID: 'docker://abc',
      state: { running: { startedAt: '2026-11-22T10:00:00Z' } },
    });
    expect(s.conditions.find((c: { type: string }) => c.type === 'Ready')!.status).toBe('True');
  });

  it('OOMKilled, and Failed for restartPolicy Never', () => {
    const s = computePodStatus({
      ...base,
      pod: pod({ restartPolicy: 'Never' }),
      observed: [
        sandbox(),
        rc({ state: 'exited', exitCode: 137, oomKilled: true, finishedAt: '2026-11-22T10:00:10Z' }),
      ],
    });
    expect(s.phase).toBe('Failed');
    expect(s.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(s.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
  });

  it.each([
    ['Never', 0, 'Succeeded'],
    ['OnFailure', 0, 'Succeeded'],
    ['Never', 2, 'Failed'],
    ['Always', 0, 'Running'],
  ])('all exited under %s with exit %d -> %s', (restartPolicy, exitCode, phase) => {
    const s = computePodStatus({
      ...base,
      pod: pod({ restartPolicy }),
      observed: [sandbox(), rc({ state: 'exited', exitCode, finishedAt: '2026-11-22T10:00:10Z' })],
    });
    expect(s.phase).toBe(phase);
  });

  it('CrashLoopBackOff waiting state keeps the last termination and the restart count', () => {
    const s = computePodStatus({
      ...base,
      pod: pod(),
      waiting: { app: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=app' } },
      observed: [
        sandbox(),
        rc({ attempt: 2, state: 'exited', exitCode: 1, finishedAt: '2026-11-22T10:00:40Z' }),
        rc({ attempt: 1, state: 'exited', exitCode: 1 }),
      ],
    });
    const cs = s.containerStatuses[0];
    expect(cs.restartCount).toBe(2);
    expect(cs.state.waiting!.reason).toBe('CrashLoopBackOff');
    expect(cs.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error', finishedAt: '2026-11-22T10:00:40Z' });
    expect(s.phase).toBe('Running');
  });

  it('keeps lastTransitionTime of unchanged conditions', () => {
    const first = computePodStatus({ ...base, pod: pod(), observed: [sandbox(), rc({})] });
    const again = computePodStatus({
      ...base,
      now: '2026-11-22T11:00:00Z',
      previous: first,
      pod: pod(),
      observed: [sandbox(), rc({})],
    });
    expect(again.conditions).toEqual(first.conditions);
  });
});

describe('BackOff (kubelet semantics)', () => {
  it('first restart immediate, then 10 s doubling to 5 min', () => {
    const b = new BackOff();
    const k = 'pod/c';
    let t = 0;
    expect(b.inBackOff(k, t, t)).toBe(false);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.next(k, t);
      delays.push(b.delayMs(k));
      t += b.delayMs(k);
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('is in back-off only until delay after the exit', () => {
    const b = new BackOff();
    b.next('k', 0);
    expect(b.inBackOff('k', 1000, 5000)).toBe(true);
    expect(b.inBackOff('k', 1000, 11_001)).toBe(false);
    expect(b.remainingMs('k', 1000, 5000)).toBe(6000);
  });

  it('resets after running longer than twice the maximum since the last restart', () => {
    const b = new BackOff();
    b.next('k', 0);
    b.next('k', 10_000);
    expect(b.delayMs('k')).toBe(20_000);
    expect(b.inBackOff('k', 10_000 + 600_001, 10_000 + 600_002)).toBe(false);
    b.next('k', 10_000 + 600_002);
    expect(b.delayMs('k')).toBe(10_000);
  });
});

describe('computePodActions with probe results', () => {
  const live = {
    name: 'app',
    image: 'busybox:1.36',
    livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 2 },
  };
  const probed = (over: Partial<PlanPod['spec']> = {}) => pod({ containers: [live], ...over });
  const running = (over: Partial<RuntimeContainer> = {}) =>
    rc({ id: 'c1', hash: containerHash(live as never), ...over });

  it.each([
    [
      'liveness failure, Always',
      'Always',
      { liveness: 'failure' },
      'Container app failed liveness probe, will be restarted',
      true,
    ],
    [
      'liveness failure, OnFailure',
      'OnFailure',
      { liveness: 'failure' },
      'Container app failed liveness probe, will be restarted',
      true,
    ],
    ['liveness failure, Never', 'Never', { liveness: 'failure' }, 'Container app failed liveness probe', false],
    [
      'startup failure',
      'Always',
      { startup: 'failure' },
      'Container app failed startup probe, will be restarted',
      true,
    ],
    [
      'liveness wins over startup',
      'Always',
      { liveness: 'failure', startup: 'failure' },
      'Container app failed liveness probe, will be restarted',
      true,
    ],
  ] as const)('%s -> kill (%s)', (_n, restartPolicy, results, reason, restart) => {
    const a = computePodActions(probed({ restartPolicy }), [sandbox(), running()], new BackOff(), NOW, {
      c1: { ...results },
    });
    expect(a.kill).toEqual([{ id: 'c1', name: 'app', reason }]);
    expect(a.start).toEqual(restart ? [{ name: 'app', attempt: 1, init: false }] : []);
  });

  it.each([
    [{ liveness: 'success' }],
    [{ readiness: 'failure' }],
    [{ startup: 'success', readiness: 'failure' }],
    [{}],
  ] as const)('no kill for %j', (results) => {
    const a = computePodActions(probed(), [sandbox(), running()], new BackOff(), NOW, { c1: { ...results } });
    expect(a).toMatchObject({ kill: [], start: [] });
  });

  it('results of another container id do not count', () => {
    const a = computePodActions(probed(), [sandbox(), running()], new BackOff(), NOW, { old: { liveness: 'failure' } });
    expect(a.kill).toEqual([]);
  });

  it('uses the probe-level terminationGracePeriodSeconds for the kill', () => {
    const c = { ...live, livenessProbe: { ...live.livenessProbe, terminationGracePeriodSeconds: 7 } };
    const a = computePodActions(
      pod({ containers: [c] }),
      [sandbox(), running({ hash: containerHash(c as never) })],
      new BackOff(),
      NOW,
      { c1: { liveness: 'failure' } },
    );
    expect(a.kill[0]).toMatchObject({ gracePeriodSeconds: 7 });
  });

  it('kills but waits out the back-off when the previous attempt exited recently (CrashLoopBackOff)', () => {
    const b = new BackOff();
    b.next(`${UID}/app`, NOW - 5000);
    const prev = rc({
      id: 'c0',
      attempt: 0,
      state: 'exited',
      exitCode: 137,
      finishedAt: new Date(NOW - 4000).toISOString(),
      hash: containerHash(live as never),
    });
    const a = computePodActions(probed(), [sandbox(), running({ attempt: 1 }), prev], b, NOW, {
      c1: { liveness: 'failure' },
    });
    expect(a.kill.map((k) => k.id)).toEqual(['c1']);
    expect(a.start).toEqual([]);
    expect(a.backingOff.app).toMatch(/^back-off 10s restarting failed container=app/);
  });
});

describe('computePodStatus with probes', () => {
  const base = {
    hostIP: '10.0.0.5',
    waiting: {},
    startTime: '2026-11-22T10:00:00Z',
    now: '2026-11-22T10:01:00Z',
    qosClass: 'BestEffort',
  };
  const exec = { exec: { command: ['true'] } };
  const cond = (s: any, type: string) => s.conditions.find((c: { type: string }) => c.type === type).status;

  it.each([
    // probes on the container,        results for c1,                                 started, ready, Ready
    ['none', {}, undefined, true, true, 'True'],
    ['readiness, not run yet', { readinessProbe: exec }, undefined, true, false, 'False'],
    ['readiness failing', { readinessProbe: exec }, { readiness: 'failure' }, true, false, 'False'],
    ['readiness passing', { readinessProbe: exec }, { readiness: 'success' }, true, true, 'True'],
    ['startup not run yet', { startupProbe: exec }, undefined, false, false, 'False'],
    ['startup passed', { startupProbe: exec }, { startup: 'success' }, true, true, 'True'],
    [
      'startup pending gates readiness',
      { startupProbe: exec, readinessProbe: exec },
      { readiness: 'success' },
      false,
      false,
      'False',
    ],
    [
      'startup passed, readiness not yet',
      { startupProbe: exec, readinessProbe: exec },
      { startup: 'success', readiness: 'failure' },
      true,
      false,
      'False',
    ],
    ['liveness only', { livenessProbe: exec }, { liveness: 'success' }, true, true, 'True'],
  ] as const)('%s', (_n, probes, results, started, ready, podReady) => {
    const c = { name: 'app', image: 'busybox:1.36', ...probes };
    const s = computePodStatus({
      ...base,
      pod: pod({ containers: [c] }),
      observed: [sandbox(), rc({ id: 'c1' })],
      probes: results ? { c1: { ...results } } : {},
    });
    expect(s.containerStatuses[0]).toMatchObject({ started, ready });
    expect(cond(s, 'Ready')).toBe(podReady);
    expect(cond(s, 'ContainersReady')).toBe(podReady);
  });

  it('a container that is not running is neither started nor ready, whatever the cache says', () => {
    const c = { name: 'app', image: 'busybox:1.36', readinessProbe: exec };
    const s = computePodStatus({
      ...base,
      pod: pod({ containers: [c] }),
      observed: [sandbox(), rc({ id: 'c1', state: 'exited', exitCode: 1, finishedAt: '2026-11-22T10:00:30Z' })],
      probes: { c1: { readiness: 'success' } },
    });
    expect(s.containerStatuses[0]).toMatchObject({ started: false, ready: false });
  });

  it('Ready=False names the unready container', () => {
    const c = { name: 'app', image: 'busybox:1.36', readinessProbe: exec };
    const s = computePodStatus({
      ...base,
      pod: pod({ containers: [c] }),
      observed: [sandbox(), rc({ id: 'c1' })],
      probes: { c1: { readiness: 'failure' } },
    });
    expect(s.conditions.find((x: { type: string }) => x.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [app]',
    });
    expect(s.phase).toBe('Running');
  });

  it('init containers in progress: Initialized=False, initContainerStatuses, app waiting', () => {
    const p = pod({
      initContainers: [
        { name: 'i1', image: 'busybox:1.36' },
        { name: 'i2', image: 'busybox:1.36' },
      ],
    });
    const s = computePodStatus({
      ...base,
      pod: p,
      observed: [sandbox(), rc({ containerName: 'i1', state: 'running' })],
    });
    expect(s.phase).toBe('Pending');
    expect(s.initContainerStatuses!.map((x: any) => [x.name, Object.keys(x.state)[0], x.ready])).toEqual([
      ['i1', 'running', false],
      ['i2', 'waiting', false],
    ]);
    // kubelet's default waiting reason in a pod with init containers (kubectl then prints Init:0/2, not Init:ContainerCreating)
    expect(s.initContainerStatuses![1].state.waiting!.reason).toBe('PodInitializing');
    expect(s.containerStatuses[0].state.waiting!.reason).toBe('PodInitializing');
    expect(cond(s, 'Initialized')).toBe('False');
  });
});
