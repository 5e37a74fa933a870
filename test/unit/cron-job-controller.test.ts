// The CronJob controller in process, against the real API write path (SQLite in memory),
// with the controller's clock injected: schedules come due without waiting for them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { create } from '../../controlplane/controllers/cron-job-controller.js';
import type { ApiStorage } from '../../controlplane/api/storage.js';
import { startController, until, type ControllerHarness } from './controller-harness.js';
import { findResource } from '../../controlplane/resources/index.js';

const cjDef = findResource('batch', 'v1', 'cronjobs')!;
const jobDef = findResource('batch', 'v1', 'jobs')!;

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

function cronJobBody(name: string, spec: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '*/5 * * * *',
      timeZone: 'UTC',
      jobTemplate: {
        metadata: { labels: { app: name } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
  };
}

const jobs = async () => (await storage.list(jobDef, 'default')).items;
const poke = (name: string) =>
  storage.guaranteedUpdate(cjDef, 'default', name, {}, (cur) => {
    cur.metadata.labels = { poke: String(Math.random()).slice(2, 8) };
    return cur;
  });

async function complete(name: string, type: 'Complete' | 'Failed', at: number): Promise<void> {
  const t = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await storage.guaranteedUpdate(
    jobDef,
    'default',
    name,
    {},
    (cur) => {
      cur.status = {
        startTime: t,
        ...(type === 'Complete' ? { completionTime: t, succeeded: 1 } : { failed: 1 }),
        conditions: [{ type, status: 'True', lastTransitionTime: t }],
      };
      return cur;
    },
    'status',
  );
}

describe('CronJob controller', () => {
  it('creates the Job when the schedule comes due, then tracks it to completion', async () => {
    const cj = await storage.create(cjDef, 'default', cronJobBody('tick'));
    const created = Date.parse(cj.metadata.creationTimestamp!);
    await new Promise((r) => setTimeout(r, 100));
    expect(await jobs()).toHaveLength(0);
    // five minutes later on the controller's clock
    const due = Math.floor(created / 300_000) * 300_000 + 300_000;
    clock = due + 2000;
    await poke('tick');
    const [job] = await until('job', async () => {
      const j = await jobs();
      return j.length === 1 && j;
    });
    expect(job!.metadata.name).toBe(`tick-${due / 60_000}`);
    expect(job!.metadata.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(
      new Date(due).toISOString().replace('.000Z', 'Z'),
    );
    expect(job!.metadata.labels).toMatchObject({ app: 'tick' });
    expect(job!.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'tick',
        uid: cj.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const s1 = await until('active', async () => {
      const c = await storage.get(cjDef, 'default', 'tick');
      return c.status?.active?.length === 1 && c;
    });
    expect(s1.status.lastScheduleTime).toBe(new Date(due).toISOString().replace('.000Z', 'Z'));
    expect(s1.status.active[0]).toMatchObject({
      kind: 'Job',
      name: job!.metadata.name,
      uid: job!.metadata.uid,
      apiVersion: 'batch/v1',
    });

    await complete(job!.metadata.name!, 'Complete', due + 10_000);
    const s2 = await until('inactive', async () => {
      const c = await storage.get(cjDef, 'default', 'tick');
      return !c.status?.active && c;
    });
    expect(s2.status.lastSuccessfulTime).toBe(new Date(due + 10_000).toISOString().replace('.000Z', 'Z'));
  });

  it('catches up on a missed schedule within startingDeadlineSeconds, not beyond', async () => {
    await storage.create(
      cjDef,
      'default',
      cronJobBody('late', { schedule: '0 * * * *', startingDeadlineSeconds: 120 }),
    );
    const hour = Math.floor(clock / 3600_000) * 3600_000 + 3600_000;
    clock = hour + 300_000; // 5 minutes after the hour: too late
    await poke('late');
    await new Promise((r) => setTimeout(r, 150));
    expect(await jobs()).toHaveLength(0);
    clock = hour + 3600_000 + 60_000; // a minute after the next hour: in time
    await poke('late');
    await until(
      'job',
      async () => (await jobs()).map((j) => j.metadata.name).join() === `late-${(hour + 3600_000) / 60_000}`,
    );
  });

  it('Forbid skips while a Job runs; Replace deletes it; history limits trim finished Jobs', async () => {
    await storage.create(
      cjDef,
      'default',
      cronJobBody('f', { schedule: '* * * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 1 }),
    );
    const t0 = Math.floor(clock / 60_000) * 60_000 + 60_000;
    clock = t0 + 1000;
    await poke('f');
    await until('first job', async () => (await jobs()).length === 1);
    await until('active', async () => (await storage.get(cjDef, 'default', 'f')).status?.active?.length === 1);
    clock = t0 + 61_000;
    await poke('f');
    await new Promise((r) => setTimeout(r, 150));
    expect(await jobs()).toHaveLength(1); // Forbid: the next run is skipped

    await storage.guaranteedUpdate(cjDef, 'default', 'f', {}, (cur) => {
      cur.spec.concurrencyPolicy = 'Replace';
      return cur;
    });
    await until('replaced', async () => (await jobs()).map((j) => j.metadata.name).join() === `f-${t0 / 60_000 + 1}`);

    await complete(`f-${t0 / 60_000 + 1}`, 'Complete', t0 + 70_000);
    clock = t0 + 121_000;
    await poke('f');
    await until('third', async () => (await jobs()).some((j) => j.metadata.name === `f-${t0 / 60_000 + 2}`));
    await complete(`f-${t0 / 60_000 + 2}`, 'Complete', t0 + 130_000);
    // successfulJobsHistoryLimit 1: only the newest finished Job stays
    await until('trimmed', async () => (await jobs()).map((j) => j.metadata.name).join() === `f-${t0 / 60_000 + 2}`);
  });

  it('suspend stops new Jobs', async () => {
    await storage.create(cjDef, 'default', cronJobBody('s', { schedule: '* * * * *', suspend: true }));
    clock += 180_000;
    await poke('s');
    await new Promise((r) => setTimeout(r, 150));
    expect(await jobs()).toHaveLength(0);
  });
});
