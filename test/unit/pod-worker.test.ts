// The pod worker over the in-memory runtime the hollow agents use (agent/runtime/hollow-runtime.ts):
// each sync returns when to come back and why (SyncResult), the worker keeps one timer per
// pod, the volume and network gates hold starts back, a deleted pod is stopped, removed and
// reported terminated. No Docker; the plan's own tables are in pod-plan.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BackOff } from '../../agent/pods/backoff.js';
import { gateOnNetwork, gateOnVolumes, soonest, type PodActions } from '../../agent/pods/plan.js';
import { PodWorker, type WorkerDeps } from '../../agent/pods/pod-worker.js';
import { storedPods } from '../../agent/pods/pod-manager.js';
import { MessageRoutes } from '../../agent/connection/message-routes.js';
import { HollowRuntime } from '../../agent/runtime/hollow-runtime.js';
import type { ImageStatus } from '../../agent/runtime/types.js';
import type { KubeObject } from '../../proto/meta.js';

const NODE = 'pw-node';
const UID = 'aaaaaaaa-0000-4000-8000-000000000001';

/** the hollow runtime, with images that are not on the node */
class Runtime extends HollowRuntime {
  missing = new Set<string>();
  override async imageStatus(image: string): Promise<ImageStatus | undefined> {
    return this.missing.has(image) ? undefined : super.imageStatus(image);
  }
}

function pod(spec: Partial<KubeObject<'Pod'>['spec']> = {}): KubeObject<'Pod'> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: UID,
      resourceVersion: '1',
      creationTimestamp: '2026-12-06T05:00:00Z',
    },
    spec: {
      nodeName: NODE,
      containers: [{ name: 'app', image: 'busybox:1.36' }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
      serviceAccountName: 'default',
      securityContext: {},
      ...spec,
    },
    status: { phase: 'Pending' },
  };
}

let dataDir: string;
let runtime: Runtime;
let reports: Record<string, unknown>[];
let events: string[];
let terminated: number;

function deps(over: Partial<WorkerDeps> = {}): WorkerDeps {
  return {
    runtime,
    node: NODE,
    hostIP: () => '10.0.0.1',
    dataDir,
    pauseImage: 'skiff.local/pause:3.10',
    backoff: new BackOff(),
    log: pino({ level: 'silent' }),
    report: (_pod, status) => {
      reports.push(status);
    },
    event: (_pod, type, reason) => {
      events.push(`${type} ${reason}`);
    },
    terminated: () => {
      terminated++;
    },
    cleanupCgroups: async () => undefined,
    ...over,
  };
}

const containers = async () => (await runtime.listPodContainers(NODE, UID)).filter((c) => c.type === 'container');
const lastStatus = () =>
  reports.at(-1) as {
    phase?: string;
    containerStatuses?: Array<{ restartCount: number; state: Record<string, { reason?: string }> }>;
  };

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-pod-worker-'));
  runtime = new Runtime();
  reports = [];
  events = [];
  terminated = 0;
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PodWorker.sync', () => {
  it('starts a new pod (sandbox, then its container), reports it Running, and asks for nothing', async () => {
    const w = new PodWorker(pod(), deps());
    expect(await w.sync()).toEqual({ reason: 'Synced' });
    const all = await runtime.listPodContainers(NODE, UID);
    expect(all.map((c) => `${c.type}/${c.containerName}/${c.state}`).sort()).toEqual([
      'container/app/running',
      'sandbox/POD/running',
    ]);
    expect(lastStatus().phase).toBe('Running');
    expect(events).toEqual(expect.arrayContaining(['Normal Created', 'Normal Started']));
  });

  it('restarts an exited container at once, then waits out the back-off: CrashLoopBackOff with one requeue', async () => {
    const w = new PodWorker(pod(), deps());
    await w.sync();
    await runtime.stopContainer((await containers())[0]!.id);
    expect(await w.sync()).toEqual({ reason: 'Synced' });
    const restarted = (await containers()).find((c) => c.state === 'running');
    expect(restarted?.attempt).toBe(1);
    await runtime.stopContainer(restarted!.id);
    const r = await w.sync();
    expect(r.reason).toBe('CrashLoopBackOff');
    expect(r.requeueAfter).toBeGreaterThan(9000);
    expect(r.requeueAfter).toBeLessThanOrEqual(10_050);
    expect(lastStatus().containerStatuses?.[0]?.state.waiting?.reason).toBe('CrashLoopBackOff');
    expect(events).toContain('Warning BackOff');
  });

  it('a missing image with pull policy Never: the container waits (ErrImageNeverPull) and the sync comes back in 10 s', async () => {
    runtime.missing.add('busybox:1.36');
    const w = new PodWorker(
      pod({ containers: [{ name: 'app', image: 'busybox:1.36', imagePullPolicy: 'Never' }] }),
      deps(),
    );
    expect(await w.sync()).toEqual({ requeueAfter: 10_000, reason: 'ErrImageNeverPull' });
    expect(await containers()).toEqual([]);
    expect(lastStatus().containerStatuses?.[0]?.state.waiting?.reason).toBe('ErrImageNeverPull');
  });

  it('holds everything back while a configMap volume cannot be set up (VolumesNotReady, no sandbox)', async () => {
    const w = new PodWorker(pod({ volumes: [{ name: 'cfg', configMap: { name: 'settings' } }] }), deps());
    expect(await w.sync()).toEqual({ requeueAfter: 5000, reason: 'VolumesNotReady' });
    expect(await runtime.listPodContainers(NODE, UID)).toEqual([]);
    expect(events).toContain('Warning FailedMount');
  });

  it('looks at an unbound claim again sooner, then less often: 200 ms doubling to 2 s', async () => {
    const w = new PodWorker(pod({ volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] }), deps());
    const waits: Array<number | undefined> = [];
    for (let i = 0; i < 6; i++) waits.push((await w.sync()).requeueAfter);
    expect(waits).toEqual([200, 400, 800, 1600, 2000, 2000]);
    expect(await runtime.listPodContainers(NODE, UID)).toEqual([]);
  });

  it('a deleted pod is stopped, everything of it removed, and reported terminated', async () => {
    const w = new PodWorker(pod(), deps());
    await w.sync();
    const p = pod();
    w.pod = {
      ...p,
      metadata: { ...p.metadata, deletionTimestamp: '2026-12-06T05:01:00Z', deletionGracePeriodSeconds: 0 },
    };
    expect(await w.sync()).toEqual({ reason: 'Terminated' });
    expect(await runtime.listPodContainers(NODE, UID)).toEqual([]);
    expect(terminated).toBe(1);
    expect(w.finished).toBe(true);
    expect(events).toContain('Normal Killing');
  });

  it('an evicted pod is stopped at once, kept, and reported Failed/Evicted', async () => {
    const w = new PodWorker(pod(), deps());
    await w.sync();
    w.evict('Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".');
    expect(await w.sync()).toEqual({ reason: 'Synced' });
    expect((await containers()).map((c) => c.state)).toEqual(['exited']);
    expect(lastStatus()).toMatchObject({ phase: 'Failed', reason: 'Evicted' });
  });
});

describe('PodWorker timer', () => {
  it('keeps one timer per pod, set from the latest sync, however often it is triggered', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = new PodWorker(pod({ volumes: [{ name: 'cfg', configMap: { name: 'settings' } }] }), deps());
    const settle = async () => {
      for (let i = 0; i < 50 && w.lastResult.reason !== 'VolumesNotReady'; i++) await vi.advanceTimersByTimeAsync(0);
    };
    w.trigger();
    await settle();
    expect(w.lastResult).toEqual({ requeueAfter: 5000, reason: 'VolumesNotReady' });
    expect(vi.getTimerCount()).toBe(1);
    for (let i = 0; i < 3; i++) w.trigger();
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);
    w.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('gates (plan.ts)', () => {
  const actions = (over: Partial<PodActions> = {}): PodActions => ({
    killPod: false,
    createSandbox: true,
    sandboxAttempt: 0,
    start: [{ name: 'app', attempt: 0, init: false }],
    kill: [],
    backingOff: {},
    remove: [],
    ...over,
  });
  it.each([
    [
      'nothing pending',
      { volumesPending: false, claimsPending: false },
      actions(),
      { start: 1, createSandbox: true, claimRetryMs: 200, requeue: undefined },
    ],
    [
      'a volume pending',
      { volumesPending: true, claimsPending: false },
      actions(),
      { start: 0, createSandbox: false, claimRetryMs: 400, requeue: { requeueAfter: 5000, reason: 'VolumesNotReady' } },
    ],
    [
      'a claim pending',
      { volumesPending: false, claimsPending: true },
      actions(),
      { start: 0, createSandbox: false, claimRetryMs: 800, requeue: { requeueAfter: 400, reason: 'ClaimsNotReady' } },
    ],
    [
      'a claim pending, nothing to start',
      { volumesPending: false, claimsPending: true },
      actions({ start: [], createSandbox: false, sandboxId: 'sb' }),
      { start: 0, createSandbox: false, claimRetryMs: 200, requeue: undefined },
    ],
    [
      'a new sandbox with nothing to start or kill',
      { volumesPending: false, claimsPending: false },
      actions({ start: [] }),
      { start: 0, createSandbox: false, claimRetryMs: 200, requeue: undefined },
    ],
  ])('volume gate: %s', (_name, g, a, want) => {
    const r = gateOnVolumes(a, { ...g, claimRetryMs: 400 });
    expect({
      start: r.start.length,
      createSandbox: r.createSandbox,
      claimRetryMs: r.claimRetryMs,
      requeue: r.requeue,
    }).toEqual(want);
  });

  it('network gate: host-network pods and a ready network go ahead; others wait a second', () => {
    expect(gateOnNetwork(pod(), undefined)).toBeUndefined();
    expect(gateOnNetwork(pod({ hostNetwork: true }), 'no pod subnet')).toBeUndefined();
    expect(gateOnNetwork(pod(), 'no pod subnet')).toEqual({
      message: 'network is not ready: no pod subnet',
      requeue: { requeueAfter: 1000, reason: 'NetworkNotReady' },
    });
  });

  it('soonest: the earliest requeue wins, a sync without one asks for nothing', () => {
    expect(soonest({ reason: 'Synced' }, undefined)).toEqual({ reason: 'Synced' });
    expect(soonest({ reason: 'Synced' }, { requeueAfter: 5, reason: 'A' })).toEqual({ requeueAfter: 5, reason: 'A' });
    expect(soonest({ requeueAfter: 5, reason: 'A' }, { requeueAfter: 10, reason: 'B' })).toEqual({
      requeueAfter: 5,
      reason: 'A',
    });
    expect(soonest({ requeueAfter: 10, reason: 'A' }, { requeueAfter: 5, reason: 'B' })).toEqual({
      requeueAfter: 5,
      reason: 'B',
    });
  });
});

describe("the agent's edges", () => {
  it('keeps from the workers what the server sent that is not a Pod (no spec, no container list)', () => {
    const ok = pod();
    expect(
      storedPods([
        ok,
        { metadata: { name: 'x', uid: 'u' } },
        { metadata: {}, spec: {} },
        { spec: { containers: 'no' } },
        null,
        'pod',
      ]),
    ).toEqual([ok]);
  });

  it('delivers each server message to the one step that registered its type', () => {
    const routes = new MessageRoutes();
    const got: string[] = [];
    routes.on('podDelete', (m) => got.push(`delete ${m.pod.name}`));
    routes.on('podUpsert', (m) => got.push(`upsert ${m.pod.metadata.name}`));
    routes.deliver({ type: 'podDelete', pod: { namespace: 'default', name: 'a', uid: 'u1' } });
    routes.deliver({ type: 'podUpsert', pod: { metadata: { name: 'b', uid: 'u2' } } });
    routes.deliver({ type: 'streamClose', id: 's1' });
    expect(got).toEqual(['delete a', 'upsert b']);
  });
});
