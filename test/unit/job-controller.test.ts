// The Job controller in process, against the real API write path (SQLite in memory):
// a stand-in kubelet moves pod phases, the clock is injected so back-off and deadlines
// pass without sleeping.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { create } from '../../controlplane/controllers/job-controller.js';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';
import { findResource } from '../../controlplane/resources/index.js';
import type { KubeObject } from '../../proto/meta.js';

const podDef = findResource('', 'v1', 'pods')!;
const jobDef = findResource('batch', 'v1', 'jobs')!;
const eventDef = findResource('', 'v1', 'events')!;

let storage: ApiStorage;
let clock: number;

let harness: ControllerHarness;

beforeEach(async () => {
  clock = Date.now();
  harness = await startController(create, () => clock);
  ({ storage } = harness);
});

afterEach(async () => {
  await harness.stop();
});

function jobBody(name: string, spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      template: {
        metadata: { labels: { app: name } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
      },
      ...spec,
    },
  };
}

const getJob = (name: string) => storage.get(jobDef, 'default', name);
const jobPods = async (name: string) =>
  (await storage.list(podDef, 'default', { labelSelector: `job-name=${name}` })).items;
const activePods = async (name: string) =>
  (await jobPods(name)).filter(
    (p) => !['Succeeded', 'Failed'].includes(p.status?.phase) && !p.metadata.deletionTimestamp,
  );
const cond = (j: KubeObject, type: string) => (j.status?.conditions ?? []).find((c: any) => c.type === type);

/** the stand-in kubelet: a container that ran and exited */
async function finish(p: KubeObject, phase: 'Succeeded' | 'Failed'): Promise<void> {
  const at = new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await storage.guaranteedUpdate(
    podDef,
    'default',
    p.metadata.name!,
    {},
    (cur) => {
      cur.status = {
        ...cur.status,
        phase,
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 0,
            image: 'busybox',
            imageID: '',
            state: { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, finishedAt: at, startedAt: at } },
          },
        ],
      };
      return cur;
    },
    'status',
  );
}

/** make the controller look again (a no-op label change enqueues the Job) */
async function poke(name: string): Promise<void> {
  await storage.guaranteedUpdate(jobDef, 'default', name, {}, (cur) => {
    cur.metadata.labels = { ...(cur.metadata.labels ?? {}), poke: String(Math.random()).slice(2, 8) };
    return cur;
  });
}

describe('Job controller', () => {
  it('runs completions 3 with parallelism 2 to Complete, counting pods through the tracking finalizer', async () => {
    const created = await storage.create(jobDef, 'default', jobBody('pi', { completions: 3, parallelism: 2 }));
    const first = await until('2 pods', async () => {
      const a = await activePods('pi');
      return a.length === 2 && a;
    });
    const p0 = first[0]!;
    expect(p0.metadata.generateName).toBe('pi-');
    expect(p0.metadata.labels).toMatchObject({
      app: 'pi',
      'job-name': 'pi',
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': created.metadata.uid,
      'batch.kubernetes.io/controller-uid': created.metadata.uid,
    });
    expect(p0.metadata.finalizers).toEqual(['batch.kubernetes.io/job-tracking']);
    expect(p0.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name: 'pi',
        uid: created.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    await until('status active 2', async () => (await getJob('pi')).status?.active === 2);
    expect((await getJob('pi')).status.startTime).toBeTruthy();
    // two stay parallel: one success brings the third pod
    await finish(p0, 'Succeeded');
    await until('succeeded 1, a new pod', async () => {
      const j = await getJob('pi');
      return j.status?.succeeded === 1 && (await activePods('pi')).length === 2;
    });
    const counted = (await jobPods('pi')).find((p) => p.metadata.name === p0.metadata.name)!;
    expect(counted.metadata.finalizers).toBeUndefined();
    for (const p of await activePods('pi')) await finish(p, 'Succeeded');
    const done = await until('Complete', async () => {
      const j = await getJob('pi');
      return cond(j, 'Complete')?.status === 'True' && j;
    });
    expect(done.status).toMatchObject({ succeeded: 3, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
    expect(done.status.failed ?? 0).toBe(0);
    expect(done.status.active ?? 0).toBe(0);
    expect(cond(done, 'SuccessCriteriaMet')).toMatchObject({ status: 'True', reason: 'CompletionsReached' });
    expect(cond(done, 'Complete')).toMatchObject({
      status: 'True',
      reason: 'CompletionsReached',
      message: 'Reached expected number of succeeded pods',
    });
    expect(done.status.completionTime).toBe(cond(done, 'Complete').lastTransitionTime);
    expect((await jobPods('pi')).length).toBe(3);
    expect((await jobPods('pi')).every((p) => !p.metadata.finalizers)).toBe(true);
    await until('Completed event', async () => {
      const reasons = (await storage.list(eventDef, 'default')).items
        .filter((e) => e.involvedObject.name === 'pi')
        .map((e) => e.reason);
      return reasons.includes('SuccessfulCreate') && reasons.includes('Completed');
    });
  });

  it('fails with BackoffLimitExceeded after backoffLimit+1 failed pods, waiting out the 10 s back-off', async () => {
    await storage.create(jobDef, 'default', jobBody('bad', { backoffLimit: 1 }));
    const [p1] = await until('1 pod', async () => {
      const a = await activePods('bad');
      return a.length === 1 && a;
    });
    await finish(p1!, 'Failed');
    await until('failed 1', async () => (await getJob('bad')).status?.failed === 1);
    // the back-off holds the replacement back ...
    await poke('bad');
    await new Promise((r) => setTimeout(r, 200));
    expect(await activePods('bad')).toHaveLength(0);
    // ... until 10 s have passed on the controller's clock
    clock += 10_500;
    await poke('bad');
    const [p2] = await until('replacement pod', async () => {
      const a = await activePods('bad');
      return a.length === 1 && a;
    });
    await finish(p2!, 'Failed');
    const failed = await until('Failed', async () => {
      const j = await getJob('bad');
      return cond(j, 'Failed')?.status === 'True' && j;
    });
    expect(cond(failed, 'FailureTarget')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
    expect(cond(failed, 'Failed')).toMatchObject({
      status: 'True',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
    expect(failed.status).toMatchObject({ failed: 2 });
    expect(failed.status.succeeded ?? 0).toBe(0);
    expect(failed.status.active ?? 0).toBe(0);
    expect(failed.status.completionTime).toBeUndefined();
  });

  it('counts a pod deleted while running as failed (the finalizer keeps it until counted)', async () => {
    await storage.create(jobDef, 'default', jobBody('del', { backoffLimit: 3 }));
    const [p] = await until('1 pod', async () => {
      const a = await activePods('del');
      return a.length === 1 && a;
    });
    await storage.delete(podDef, 'default', p!.metadata.name!);
    await until('failed 1', async () => (await getJob('del')).status?.failed === 1);
    await until('pod gone', async () => !(await storage.tryGet(podDef, 'default', p!.metadata.name!)));
  });

  it('activeDeadlineSeconds stops the pods and fails the Job with DeadlineExceeded', async () => {
    await storage.create(jobDef, 'default', jobBody('slow', { activeDeadlineSeconds: 5 }));
    await until('1 pod', async () => (await activePods('slow')).length === 1);
    await until('started', async () => !!(await getJob('slow')).status?.startTime);
    clock += 6000;
    await poke('slow');
    const j = await until('Failed', async () => {
      const x = await getJob('slow');
      return cond(x, 'Failed')?.status === 'True' && x;
    });
    expect(cond(j, 'Failed')).toMatchObject({
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    });
    expect(j.status).toMatchObject({ failed: 1 });
    expect(j.status.active ?? 0).toBe(0);
    await until('pods gone', async () => (await jobPods('slow')).length === 0);
  });

  it('deletes a finished Job after ttlSecondsAfterFinished', async () => {
    await storage.create(jobDef, 'default', jobBody('ttl', { ttlSecondsAfterFinished: 30 }));
    const [p] = await until('1 pod', async () => {
      const a = await activePods('ttl');
      return a.length === 1 && a;
    });
    await finish(p!, 'Succeeded');
    await until('Complete', async () => cond(await getJob('ttl'), 'Complete')?.status === 'True');
    await poke('ttl');
    await new Promise((r) => setTimeout(r, 100));
    expect(await storage.tryGet(jobDef, 'default', 'ttl')).toBeDefined();
    clock += 31_000;
    await poke('ttl');
    await until('job deleted', async () => !(await storage.tryGet(jobDef, 'default', 'ttl')));
  });

  it('suspend deletes the active pods without counting them; resume starts again', async () => {
    await storage.create(jobDef, 'default', jobBody('sus', { parallelism: 2, completions: 2 }));
    await until('2 pods', async () => (await activePods('sus')).length === 2);
    await storage.guaranteedUpdate(jobDef, 'default', 'sus', {}, (cur) => {
      cur.spec.suspend = true;
      return cur;
    });
    const j = await until('suspended', async () => {
      const x = await getJob('sus');
      return cond(x, 'Suspended')?.status === 'True' && !x.status.active && x;
    });
    expect(j.status.failed ?? 0).toBe(0);
    await until('pods gone', async () => (await jobPods('sus')).length === 0);
    await storage.guaranteedUpdate(jobDef, 'default', 'sus', {}, (cur) => {
      cur.spec.suspend = false;
      return cur;
    });
    await until(
      'resumed',
      async () => cond(await getJob('sus'), 'Suspended')?.status === 'False' && (await activePods('sus')).length === 2,
    );
  });

  it('Indexed: one pod per index, completedIndexes, a failed index is retried', async () => {
    await storage.create(
      jobDef,
      'default',
      jobBody('idx', { completionMode: 'Indexed', completions: 3, parallelism: 2 }),
    );
    const index = (p: KubeObject) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'];
    const first = await until('2 pods', async () => {
      const a = await activePods('idx');
      return a.length === 2 && a;
    });
    expect(first.map(index).sort()).toEqual(['0', '1']);
    const p1 = first.find((p) => index(p) === '1')!;
    expect(p1.spec.hostname).toBe('idx-1');
    expect(p1.metadata.generateName).toBe('idx-1-');
    await finish(p1, 'Succeeded');
    await until('index 2 started', async () => (await activePods('idx')).map(index).sort().join() === '0,2');
    // the status write may land just after the new pod: wait for it instead of racing it
    await until('completedIndexes 1', async () => (await getJob('idx')).status?.completedIndexes === '1');
    const p0 = (await activePods('idx')).find((p) => index(p) === '0')!;
    await finish(p0, 'Failed');
    clock += 11_000;
    await poke('idx');
    await until('index 0 again', async () => (await activePods('idx')).map(index).sort().join() === '0,2');
    for (const p of await activePods('idx')) await finish(p, 'Succeeded');
    const done = await until('Complete', async () => {
      const j = await getJob('idx');
      return cond(j, 'Complete')?.status === 'True' && j;
    });
    expect(done.status).toMatchObject({ completedIndexes: '0-2', succeeded: 3, failed: 1 });
  });

  it('drops the tracking finalizer of pods whose Job is gone', async () => {
    await storage.create(jobDef, 'default', jobBody('orphan', {}));
    const [p] = await until('1 pod', async () => {
      const a = await activePods('orphan');
      return a.length === 1 && a;
    });
    await storage.delete(jobDef, 'default', 'orphan', { propagationPolicy: 'Orphan' });
    await until('job gone', async () => {
      const j = await storage.tryGet(jobDef, 'default', 'orphan');
      if (j?.metadata.finalizers?.includes('orphan')) {
        // no garbage collector here: finish its orphaning by hand
        await storage.guaranteedUpdate(jobDef, 'default', 'orphan', {}, (cur) => {
          cur.metadata.finalizers = [];
          return cur;
        });
      }
      return !j;
    });
    await until(
      'finalizer removed',
      async () => !(await storage.get(podDef, 'default', p!.metadata.name!)).metadata.finalizers,
    );
  });
});
