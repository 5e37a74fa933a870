// StatefulSet, Job and CronJob end to end: a real skiff-server and skiff-agent, real
// Docker, the real kubectl. Ordered StatefulSet start and scale-down (watched through
// frequent API snapshots), PVC objects per claim template, a parallel Job to
// completion (kubectl wait), an Indexed Job, a failing Job to BackoffLimitExceeded, ttlSecondsAfterFinished,
// a CronJob catching up on a missed schedule, and one CronJob firing on its own clock
// (created first, checked last, so its minute overlaps the other tests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  httpsRequest,
  k,
  kubectl,
  kubectlAvailable,
  kubectlBg,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

interface PodView {
  uid: string;
  phase: string;
  ready: boolean;
  deleting: boolean;
  created: string;
}
type Snapshot = Map<string, PodView>;

/** polls the pods of a label selector through the API every 100 ms, keeping every snapshot */
function recordPods(s: ServerProc, selector: string): { snapshots: Snapshot[]; stop(): void } {
  const snapshots: Snapshot[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        const r = await httpsRequest(
          s,
          'GET',
          `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`,
        );
        if (r.status === 200) {
          const snap: Snapshot = new Map();
          for (const p of r.json.items) {
            snap.set(p.metadata.name, {
              uid: p.metadata.uid,
              phase: p.status?.phase ?? '',
              deleting: !!p.metadata.deletionTimestamp,
              created: p.metadata.creationTimestamp,
              ready: (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
            });
          }
          snapshots.push(snap);
        }
      } catch {
        /* server busy: next round */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  void loop();
  return {
    snapshots,
    stop() {
      stopped = true;
    },
  };
}

/** kubectl without blocking the event loop (the pod recorder keeps polling meanwhile) */
function kubectlAsync(s: ServerProc, args: string[]): Promise<{ code: number; out: string }> {
  const bg = kubectlBg(s, args);
  return new Promise((resolve) => bg.proc.once('exit', (code) => resolve({ code: code ?? -1, out: bg.out() })));
}

const runningReady = (v: PodView | undefined) => !!v && v.phase === 'Running' && v.ready && !v.deleting;

describe.skipIf(!enabled)('StatefulSet, Job and CronJob on real Docker', () => {
  let s: ServerProc;
  let a: AgentProc;
  let tickCreated = 0;
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
    // The one CronJob that fires on the real clock: created now, checked by the last test.
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: tick}}
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - {name: c, image: ${BUSYBOX}, command: ["sh", "-c", "echo tick"]}
`,
    );
    tickCreated = Date.parse(json(['get', 'cronjob', 'tick']).metadata.creationTimestamp);
  });

  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('StatefulSet OrderedReady: web-0, web-1, web-2 in order with their PVCs; partitioned rolling update from the top; scale down removes web-2 first', async () => {
    const rec = recordPods(s, 'app=web');
    try {
      k(
        s,
        ['apply', '-f', '-'],
        `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`,
      );
      await eventually(
        async () =>
          expect(
            (await httpsRequest(s, 'GET', '/apis/apps/v1/namespaces/default/statefulsets/web')).json?.status
              ?.readyReplicas,
          ).toBe(3),
        45_000,
        250,
      );
      expect(k(s, ['get', 'sts', 'web'])).toMatch(/web\s+3\/3\s/);

      // OrderedReady: whenever web-k exists, every lower ordinal is Running and Ready.
      const order: string[] = [];
      for (const snap of rec.snapshots) {
        for (const name of snap.keys()) if (!order.includes(name)) order.push(name);
        for (const [name] of snap) {
          const ord = Number(name.slice('web-'.length));
          for (let lower = 0; lower < ord; lower++)
            expect(runningReady(snap.get(`web-${lower}`)), `${name} exists while web-${lower} is not Ready`).toBe(true);
        }
      }
      expect(order).toEqual(['web-0', 'web-1', 'web-2']);
      const pods = json(['get', 'pods', '-l', 'app=web']).items.sort((x: any, y: any) =>
        x.metadata.name.localeCompare(y.metadata.name),
      );
      const created = pods.map((p: any) => Date.parse(p.metadata.creationTimestamp));
      expect(created).toEqual([...created].sort((x, y) => x - y));
      for (const [i, p] of pods.entries()) {
        expect(p.metadata.name).toBe(`web-${i}`);
        expect(p.spec.hostname).toBe(`web-${i}`);
        expect(p.spec.subdomain).toBe('web');
        expect(p.spec.nodeName).toBe(a.node);
        expect(p.metadata.labels).toMatchObject({
          'statefulset.kubernetes.io/pod-name': `web-${i}`,
          'apps.kubernetes.io/pod-index': String(i),
        });
        expect(p.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: `data-web-${i}` } });
        expect(p.status.phase).toBe('Running');
      }
      const sts = json(['get', 'sts', 'web']);
      expect(sts.status).toMatchObject({
        replicas: 3,
        readyReplicas: 3,
        currentReplicas: 3,
        updatedReplicas: 3,
        availableReplicas: 3,
        observedGeneration: 1,
      });
      expect(sts.status.currentRevision).toBe(sts.status.updateRevision);
      expect(pods[0].metadata.labels['controller-revision-hash']).toBe(sts.status.updateRevision);
      const pvcs = json(['get', 'pvc']).items;
      expect(pvcs.map((c: any) => c.metadata.name).sort()).toEqual(['data-web-0', 'data-web-1', 'data-web-2']);
      for (const c of pvcs) {
        expect(c.metadata.labels).toEqual({ app: 'web' });
        expect(c.metadata.ownerReferences).toBeUndefined(); // retention Retain/Retain: no owner
        expect(c.spec.resources.requests.storage).toBe('1Gi');
      }

      // RollingUpdate with partition 1: web-2 then web-1 get the new template, web-0 stays.
      const oldRevision = sts.status.updateRevision;
      k(s, [
        'patch',
        'sts',
        'web',
        '--type=merge',
        '-p',
        '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}',
      ]);
      const upFrom = rec.snapshots.length;
      k(s, ['set', 'env', 'sts/web', 'VERSION=2']);
      const ro = await kubectlAsync(s, ['rollout', 'status', 'sts/web', '--timeout=60s']);
      expect(ro.code, ro.out).toBe(0);
      expect(ro.out).toMatch(/partitioned roll out complete: 2 new pods have been updated/);
      const rolled = json(['get', 'sts', 'web']);
      expect(rolled.status).toMatchObject({
        replicas: 3,
        readyReplicas: 3,
        updatedReplicas: 2,
        currentReplicas: 1,
        currentRevision: oldRevision,
      });
      expect(rolled.status.updateRevision).not.toBe(oldRevision);
      const env = (name: string) => json(['get', 'pod', name]).spec.containers[0].env ?? [];
      expect(env('web-2')).toEqual([{ name: 'VERSION', value: '2' }]);
      expect(env('web-1')).toEqual([{ name: 'VERSION', value: '2' }]);
      expect(env('web-0')).toEqual([]);
      expect(json(['get', 'pod', 'web-0']).metadata.labels['controller-revision-hash']).toBe(oldRevision);
      // one at a time from the top: web-1 is only replaced once the new web-2 is Running and Ready
      const uid2 = pods[2].metadata.uid;
      const uid1 = pods[1].metadata.uid;
      for (const snap of rec.snapshots.slice(upFrom)) {
        const web1Replaced =
          snap.get('web-1')?.deleting || (snap.has('web-1') && snap.get('web-1')!.uid !== uid1) || !snap.has('web-1');
        if (web1Replaced)
          expect(
            runningReady(snap.get('web-2')) && snap.get('web-2')!.uid !== uid2,
            'web-1 replaced before the new web-2 was Ready',
          ).toBe(true);
        expect(snap.get('web-0')?.uid, 'web-0 is below the partition').toBe(pods[0].metadata.uid);
      }

      // Scale down: web-2 goes first, web-1 only once web-2 is gone.
      const from = rec.snapshots.length;
      k(s, ['scale', 'sts', 'web', '--replicas=1']);
      await eventually(
        async () =>
          expect(
            (await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).json?.items?.map(
              (p: any) => p.metadata.name,
            ),
          ).toEqual(['web-0']),
        45_000,
        250,
      );
      let sawOnlyTop = false;
      for (const snap of rec.snapshots.slice(from)) {
        const web1Going = !snap.has('web-1') || snap.get('web-1')!.deleting;
        if (web1Going) expect(snap.has('web-2'), 'web-1 removed before web-2 was gone').toBe(false);
        if (snap.get('web-2')?.deleting && runningReady(snap.get('web-1'))) sawOnlyTop = true;
        if (!snap.has('web-2') && runningReady(snap.get('web-1'))) sawOnlyTop = true;
      }
      expect(sawOnlyTop).toBe(true);
      await eventually(
        () => expect(json(['get', 'sts', 'web']).status).toMatchObject({ replicas: 1, readyReplicas: 1 }),
        15_000,
        250,
      );
      expect(json(['get', 'pvc']).items).toHaveLength(3); // claims outlive the scale down (whenScaled: Retain)
    } finally {
      rec.stop();
    }
  });

  it('a Job with completions 3 and parallelism 2 runs to Complete (kubectl wait)', async () => {
    const rec = recordPods(s, 'job-name=pi');
    try {
      k(
        s,
        ['apply', '-f', '-'],
        `apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  parallelism: 2
  template:
    metadata: {labels: {app: pi}}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: ${BUSYBOX}, command: ["sh", "-c", "sleep 1; echo done"]}
`,
      );
      const w = await kubectlAsync(s, ['wait', '--for=condition=complete', 'job/pi', '--timeout=60s']);
      expect(w.code, w.out).toBe(0);
      expect(w.out).toContain('job.batch/pi condition met');
    } finally {
      rec.stop();
    }
    const job = json(['get', 'job', 'pi']);
    expect(job.status).toMatchObject({ succeeded: 3, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
    expect(job.status.failed ?? 0).toBe(0);
    expect(job.status.completionTime).toBeTruthy();
    const types = job.status.conditions.filter((c: any) => c.status === 'True').map((c: any) => c.type);
    expect(types).toEqual(['SuccessCriteriaMet', 'Complete']);
    const pods = json(['get', 'pods', '-l', 'job-name=pi']).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.status.phase).toBe('Succeeded');
      expect(p.metadata.name).toMatch(/^pi-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toMatchObject({
        app: 'pi',
        'batch.kubernetes.io/job-name': 'pi',
        'controller-uid': job.metadata.uid,
        'batch.kubernetes.io/controller-uid': job.metadata.uid,
      });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: 'pi',
          uid: job.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(p.metadata.finalizers).toBeUndefined(); // counted, tracking finalizer removed
    }
    // never more than `parallelism` pods running at once
    const maxActive = Math.max(
      ...rec.snapshots.map(
        (snap) =>
          [...snap.values()].filter((v) => v.phase !== 'Succeeded' && v.phase !== 'Failed' && !v.deleting).length,
      ),
    );
    expect(maxActive).toBeLessThanOrEqual(2);
    expect(maxActive).toBeGreaterThanOrEqual(1);
    expect(k(s, ['get', 'job', 'pi'])).toMatch(/pi\s+Complete\s+3\/3\s/);
  });

  it('an Indexed Job gives each pod its completion index', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: batch/v1
kind: Job
metadata: {name: idx}
spec:
  completionMode: Indexed
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: ${BUSYBOX}, command: ["sh", "-c", "echo index=$JOB_COMPLETION_INDEX host=$(hostname)"]}
`,
    );
    const w = await kubectlAsync(s, ['wait', '--for=condition=complete', 'job/idx', '--timeout=60s']);
    expect(w.code, w.out).toBe(0);
    expect(json(['get', 'job', 'idx']).status).toMatchObject({ completedIndexes: '0-1', succeeded: 2 });
    const pods = json(['get', 'pods', '-l', 'job-name=idx']).items;
    const logs = pods.map((p: any) => k(s, ['logs', p.metadata.name]).trim()).sort();
    expect(logs).toEqual(['index=0 host=idx-0', 'index=1 host=idx-1']);
  });

  it('a Job whose pods fail hits backoffLimit and gets Failed/BackoffLimitExceeded', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: ${BUSYBOX}, command: ["sh", "-c", "echo failing; exit 3"]}
`,
    );
    // two pods fail: the second after the controller's 10 s pod-creation back-off
    const w = kubectl(s, ['wait', '--for=condition=failed', 'job/bad', '--timeout=60s'], { timeoutMs: 70_000 });
    expect(w.code, w.stderr).toBe(0);
    const job = json(['get', 'job', 'bad']);
    const failed = job.status.conditions.find((c: any) => c.type === 'Failed');
    expect(failed).toMatchObject({
      status: 'True',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
    expect(job.status.conditions.find((c: any) => c.type === 'FailureTarget')).toMatchObject({
      status: 'True',
      reason: 'BackoffLimitExceeded',
    });
    expect(job.status.failed).toBe(2);
    expect(job.status.succeeded ?? 0).toBe(0);
    expect(job.status.completionTime).toBeUndefined();
    const pods = json(['get', 'pods', '-l', 'job-name=bad']).items;
    expect(pods.map((p: any) => p.status.phase)).toEqual(['Failed', 'Failed']);
    const [first, second] = pods.sort(
      (x: any, y: any) => Date.parse(x.metadata.creationTimestamp) - Date.parse(y.metadata.creationTimestamp),
    );
    expect(
      Date.parse(second.metadata.creationTimestamp) - Date.parse(first.metadata.creationTimestamp),
    ).toBeGreaterThanOrEqual(9000);
    expect(k(s, ['get', 'job', 'bad'])).toMatch(/bad\s+Failed\s+0\/1\s/);
    const events = k(s, ['get', 'events', '--field-selector', 'involvedObject.name=bad']);
    expect(events).toMatch(/BackoffLimitExceeded/);
  });

  it('deletes a finished Job after ttlSecondsAfterFinished', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: batch/v1
kind: Job
metadata: {name: short}
spec:
  ttlSecondsAfterFinished: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: ${BUSYBOX}, command: ["true"]}
`,
    );
    const w = kubectl(s, ['wait', '--for=condition=complete', 'job/short', '--timeout=30s'], { timeoutMs: 40_000 });
    expect(w.code, w.stderr).toBe(0);
    await eventually(
      () => expect(kubectl(s, ['get', 'job', 'short']).stderr).toMatch(/NotFound|not found/),
      15_000,
      250,
    );
  });

  it('a CronJob catches up on a missed schedule within startingDeadlineSeconds', async () => {
    // Created suspended, it is told its last run was 5 minutes ago; resumed, it starts the
    // most recent missed minute at once, as the controller does after being down.
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: batch/v1
kind: CronJob
metadata: {name: catchup}
spec:
  schedule: "* * * * *"
  suspend: true
  startingDeadlineSeconds: 300
  successfulJobsHistoryLimit: 1
  jobTemplate:
    metadata: {labels: {team: a}}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: c, image: ${BUSYBOX}, command: ["sh", "-c", "echo caught up"]}
`,
    );
    const last = new Date(Date.now() - 5 * 60_000);
    last.setUTCSeconds(0, 0);
    k(s, [
      'patch',
      'cronjob',
      'catchup',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { lastScheduleTime: last.toISOString().replace('.000Z', 'Z') } }),
    ]);
    await new Promise((r) => setTimeout(r, 500));
    expect(json(['get', 'jobs']).items.filter((j: any) => j.metadata.name.startsWith('catchup-'))).toHaveLength(0); // suspended
    const before = Math.floor(Date.now() / 60_000);
    k(s, ['patch', 'cronjob', 'catchup', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    const job = await eventually(
      () => {
        const jobs = json(['get', 'jobs']).items.filter((j: any) => j.metadata.name.startsWith('catchup-'));
        expect(jobs).toHaveLength(1);
        return jobs[0];
      },
      15_000,
      250,
    );
    const after = Math.floor(Date.now() / 60_000);
    const minute = Number(job.metadata.name.slice('catchup-'.length));
    expect(minute).toBeGreaterThanOrEqual(before);
    expect(minute).toBeLessThanOrEqual(after);
    expect(job.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(
      new Date(minute * 60_000).toISOString().replace('.000Z', 'Z'),
    );
    const cj = json(['get', 'cronjob', 'catchup']);
    expect(job.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'catchup',
        uid: cj.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(job.metadata.labels).toMatchObject({ team: 'a' });
    const w = kubectl(s, ['wait', '--for=condition=complete', `job/${job.metadata.name}`, '--timeout=30s'], {
      timeoutMs: 40_000,
    });
    expect(w.code, w.stderr).toBe(0);
    await eventually(
      () => {
        const st = json(['get', 'cronjob', 'catchup']).status;
        expect(st.active).toBeUndefined();
        expect(st.lastScheduleTime).toBe(new Date(minute * 60_000).toISOString().replace('.000Z', 'Z'));
        expect(st.lastSuccessfulTime).toBeTruthy();
      },
      15_000,
      250,
    );
  });

  it('a CronJob "* * * * *" fires on the next minute by itself', async () => {
    const firstDue = Math.floor(tickCreated / 60_000) + 1;
    const job = await eventually(
      () => {
        const jobs = json(['get', 'jobs']).items.filter((j: any) => j.metadata.name.startsWith('tick-'));
        expect(jobs.length).toBeGreaterThanOrEqual(1);
        return jobs.sort((x: any, y: any) => x.metadata.name.localeCompare(y.metadata.name))[0];
      },
      Math.max(5000, firstDue * 60_000 - Date.now() + 15_000),
      500,
    );
    expect(job.metadata.name).toBe(`tick-${firstDue}`);
    const st = json(['get', 'cronjob', 'tick']).status;
    expect(Date.parse(st.lastScheduleTime)).toBeGreaterThanOrEqual(firstDue * 60_000);
    expect(k(s, ['get', 'cronjob', 'tick'])).toMatch(/tick\s+\* \* \* \* \*\s/);
  }, 90_000);
});
