// Cron schedules as tables: next activation times (5-field, macros, @every, day-of-month
// vs day-of-week, time zones and DST), missed schedules and startingDeadlineSeconds, and
// the CronJob sync decisions for each concurrencyPolicy, suspend and the history limits.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  formatRfc3339,
  goDurationMs,
  parseSchedule,
  ScheduleError,
} from '../../controlplane/controllers/cron-job/schedule.js';
import {
  jobFromTemplate,
  jobName,
  mostRecentScheduleTime,
  planCronJob,
  withStartedJob,
} from '../../controlplane/controllers/cron-job/plan.js';

const T = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) =>
  ms === undefined ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z');

describe('cron schedule: next activation', () => {
  const cases: Array<{ spec: string; tz?: string; from: string; want: string | undefined }> = [
    { spec: '* * * * *', tz: 'UTC', from: '2024-05-01T10:00:30Z', want: '2024-05-01T10:01:00Z' },
    { spec: '* * * * *', tz: 'UTC', from: '2024-05-01T10:00:00Z', want: '2024-05-01T10:01:00Z' },
    { spec: '*/15 * * * *', tz: 'UTC', from: '2024-05-01T10:16:00Z', want: '2024-05-01T10:30:00Z' },
    { spec: '5/20 * * * *', tz: 'UTC', from: '2024-05-01T10:26:00Z', want: '2024-05-01T10:45:00Z' },
    { spec: '0 0 * * *', tz: 'UTC', from: '2024-05-01T10:00:00Z', want: '2024-05-02T00:00:00Z' },
    { spec: '30 6-16/4 * * 1-5', tz: 'UTC', from: '2024-05-03T15:00:00Z', want: '2024-05-06T06:30:00Z' }, // Friday -> Monday
    { spec: '0 12 * JAN,jul *', tz: 'UTC', from: '2024-05-01T00:00:00Z', want: '2024-07-01T12:00:00Z' },
    { spec: '0 0 * * sun', tz: 'UTC', from: '2024-05-01T00:00:00Z', want: '2024-05-05T00:00:00Z' },
    // day-of-month and day-of-week both restricted: either matches (the 13th, or a Friday)
    { spec: '0 0 13 * 5', tz: 'UTC', from: '2024-05-01T00:00:00Z', want: '2024-05-03T00:00:00Z' },
    { spec: '0 0 13 * 5', tz: 'UTC', from: '2024-05-10T00:00:00Z', want: '2024-05-13T00:00:00Z' },
    // one of them a star: both must match
    { spec: '0 0 13 * *', tz: 'UTC', from: '2024-05-01T00:00:00Z', want: '2024-05-13T00:00:00Z' },
    { spec: '0 0 29 2 *', tz: 'UTC', from: '2024-03-01T00:00:00Z', want: '2028-02-29T00:00:00Z' },
    { spec: '0 0 31 2 *', tz: 'UTC', from: '2024-03-01T00:00:00Z', want: undefined },
    { spec: '@hourly', tz: 'UTC', from: '2024-05-01T10:20:00Z', want: '2024-05-01T11:00:00Z' },
    { spec: '@daily', tz: 'UTC', from: '2024-05-01T10:20:00Z', want: '2024-05-02T00:00:00Z' },
    { spec: '@weekly', tz: 'UTC', from: '2024-05-01T10:20:00Z', want: '2024-05-05T00:00:00Z' },
    { spec: '@monthly', tz: 'UTC', from: '2024-05-01T10:20:00Z', want: '2024-06-01T00:00:00Z' },
    { spec: '@yearly', tz: 'UTC', from: '2024-05-01T10:20:00Z', want: '2025-01-01T00:00:00Z' },
    { spec: '@every 1h30m', from: '2024-05-01T10:20:00.400Z', want: '2024-05-01T11:50:00Z' },
    { spec: '@every 90s', from: '2024-05-01T10:20:00Z', want: '2024-05-01T10:21:30Z' },
    // time zones: 09:00 in New York is 13:00 UTC in summer, 14:00 in winter
    { spec: '0 9 * * *', tz: 'America/New_York', from: '2024-05-01T12:00:00Z', want: '2024-05-01T13:00:00Z' },
    { spec: '0 9 * * *', tz: 'America/New_York', from: '2024-01-10T15:00:00Z', want: '2024-01-11T14:00:00Z' },
    { spec: '0 0 * * *', tz: 'Asia/Kolkata', from: '2024-05-01T00:00:00Z', want: '2024-05-01T18:30:00Z' },
    // across the spring-forward night the next 09:00 is an hour earlier in UTC
    { spec: '0 9 * * *', tz: 'Europe/Berlin', from: '2024-03-30T08:30:00Z', want: '2024-03-31T07:00:00Z' },
    // 02:30 does not exist in Berlin on 2024-03-31: the next one is a day later
    { spec: '30 2 * * *', tz: 'Europe/Berlin', from: '2024-03-30T02:00:00Z', want: '2024-04-01T00:30:00Z' },
    { spec: '0 0 * * *', tz: 'Europe/Berlin', from: '2024-03-30T23:30:00Z', want: '2024-03-31T22:00:00Z' },
  ];
  for (const c of cases) {
    it(`${c.spec}${c.tz ? ` in ${c.tz}` : ''} after ${c.from}`, () => {
      expect(iso(parseSchedule(c.spec, c.tz).next(T(c.from)))).toBe(c.want);
    });
  }

  it('rejects invalid schedules with robfig/cron messages', () => {
    expect(() => parseSchedule('* * * *')).toThrow(ScheduleError);
    expect(() => parseSchedule('61 * * * *')).toThrow('end of range (61) above maximum (59): 61');
    expect(() => parseSchedule('* * * * *', 'Mars/Olympus')).toThrow(/unknown time zone/);
  });

  it('parses Go durations and formats RFC 3339 in a zone as Go does', () => {
    expect(goDurationMs('1h30m')).toBe(5_400_000);
    expect(goDurationMs('1.5s')).toBe(1500);
    expect(goDurationMs('250ms')).toBe(250);
    expect(formatRfc3339(T('2024-05-01T13:00:00Z'), 'UTC')).toBe('2024-05-01T13:00:00Z');
    expect(formatRfc3339(T('2024-05-01T13:00:00Z'), 'America/New_York')).toBe('2024-05-01T09:00:00-04:00');
    expect(formatRfc3339(T('2024-05-01T13:00:00Z'), 'Asia/Kolkata')).toBe('2024-05-01T18:30:00+05:30');
  });
});

function cronJob(
  spec: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
  created = '2024-05-01T09:00:00Z',
): KubeObject {
  return {
    metadata: { name: 'tick', namespace: 'default', uid: 'cj-uid', creationTimestamp: created },
    spec: {
      schedule: '*/5 * * * *',
      timeZone: 'UTC',
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: 'tick' }, annotations: { note: 'x' } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
    status,
  };
}

describe('cron: most recent schedule time', () => {
  const cases: Array<{
    name: string;
    schedule: string;
    created: string;
    last?: string;
    now: string;
    sds?: number;
    want?: string;
    missed: string;
  }> = [
    {
      name: 'nothing due yet',
      schedule: '*/5 * * * *',
      created: '2024-05-01T10:01:00Z',
      now: '2024-05-01T10:04:00Z',
      missed: 'none',
    },
    {
      name: 'one due',
      schedule: '*/5 * * * *',
      created: '2024-05-01T10:01:00Z',
      now: '2024-05-01T10:06:00Z',
      want: '2024-05-01T10:05:00Z',
      missed: 'none',
    },
    {
      name: 'several missed: the latest',
      schedule: '*/5 * * * *',
      created: '2024-05-01T10:01:00Z',
      now: '2024-05-01T10:27:00Z',
      want: '2024-05-01T10:25:00Z',
      missed: 'few',
    },
    {
      name: 'from lastScheduleTime',
      schedule: '*/5 * * * *',
      created: '2024-05-01T08:00:00Z',
      last: '2024-05-01T10:25:00Z',
      now: '2024-05-01T10:27:00Z',
      missed: 'none',
    },
    {
      name: 'irregular schedule, many hours missed',
      schedule: '30 6-16/4 * * 1-5',
      created: '2024-05-01T00:00:00Z',
      now: '2024-05-03T15:00:00Z',
      want: '2024-05-03T14:30:00Z',
      missed: 'few',
    },
    {
      name: 'more than 100 missed',
      schedule: '* * * * *',
      created: '2024-05-01T00:00:00Z',
      now: '2024-05-01T10:00:30Z',
      want: '2024-05-01T10:00:00Z',
      missed: 'many',
    },
    {
      name: 'startingDeadlineSeconds bounds the look-back',
      schedule: '* * * * *',
      created: '2024-05-01T00:00:00Z',
      now: '2024-05-01T10:00:30Z',
      sds: 200,
      want: '2024-05-01T10:00:00Z',
      missed: 'few',
    },
    {
      name: 'startingDeadlineSeconds past every schedule',
      schedule: '0 * * * *',
      created: '2024-05-01T00:00:00Z',
      last: '2024-05-01T09:00:00Z',
      now: '2024-05-01T10:05:00Z',
      sds: 60,
      missed: 'none',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cj = cronJob(
        { schedule: c.schedule, startingDeadlineSeconds: c.sds },
        c.last ? { lastScheduleTime: c.last } : {},
        c.created,
      );
      const r = mostRecentScheduleTime(cj, T(c.now), parseSchedule(c.schedule, 'UTC'), true);
      expect(iso(r.mostRecent)).toBe(c.want);
      expect(r.missed).toBe(c.missed);
    });
  }
});

function childJob(
  name: string,
  opts: { active?: boolean; finished?: 'Complete' | 'Failed'; start?: string; done?: string } = {},
): KubeObject {
  const conditions = opts.finished ? [{ type: opts.finished, status: 'True' }] : [];
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: 'cj-uid', controller: true }],
    },
    spec: {},
    status: { startTime: opts.start, completionTime: opts.done, conditions },
  };
}
const ref = (j: KubeObject) => ({
  kind: 'Job',
  namespace: 'default',
  name: j.metadata.name,
  uid: j.metadata.uid,
  apiVersion: 'batch/v1',
});

describe('cron: sync decisions', () => {
  const NOW = T('2024-05-01T10:06:00Z');
  const due = T('2024-05-01T10:05:00Z');
  const dueName = `tick-${due / 60_000}`;

  it('creates the Job for the latest missed schedule with name, owner and annotation', () => {
    const p = planCronJob({ cronJob: cronJob(), jobs: [], missing: new Set(), now: NOW });
    expect(p.create?.scheduledTime).toBe(due);
    expect(p.create?.job.metadata).toEqual({
      name: dueName,
      labels: { app: 'tick' },
      annotations: { note: 'x', 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2024-05-01T10:05:00Z' },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: 'tick',
          uid: 'cj-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(p.create?.job.spec).toEqual(cronJob().spec.jobTemplate.spec);
    expect(p.requeueAfterMs).toBe(T('2024-05-01T10:10:00Z') + 100 - NOW);
    expect(jobName(cronJob(), due)).toBe('tick-28575965');
  });

  it('annotates the scheduled time in the CronJob time zone', () => {
    expect(
      jobFromTemplate(cronJob({ timeZone: 'Europe/Berlin' }), due).metadata.annotations![
        'batch.kubernetes.io/cronjob-scheduled-timestamp'
      ],
    ).toBe('2024-05-01T12:05:00+02:00');
  });

  const running = childJob('tick-old', { start: '2024-05-01T10:00:00Z' });
  const concurrency: Array<{ policy: string; create: boolean; deletes: string[]; event?: string }> = [
    { policy: 'Allow', create: true, deletes: [] },
    { policy: 'Forbid', create: false, deletes: [], event: 'JobAlreadyActive' },
    { policy: 'Replace', create: true, deletes: ['tick-old'] },
  ];
  for (const c of concurrency) {
    it(`concurrencyPolicy ${c.policy} with a Job still running`, () => {
      const p = planCronJob({
        cronJob: cronJob(
          { concurrencyPolicy: c.policy },
          { active: [ref(running)], lastScheduleTime: '2024-05-01T10:00:00Z' },
        ),
        jobs: [running],
        missing: new Set(),
        now: NOW,
      });
      expect(!!p.create).toBe(c.create);
      expect(p.deleteJobs.map((d) => d.job.metadata.name)).toEqual(c.deletes);
      if (c.event) expect(p.events.map((e) => e.reason)).toContain(c.event);
      if (c.policy === 'Replace') expect(p.status.active).toBeUndefined();
    });
  }

  it('suspend: no new Job, but status still reconciled', () => {
    const done = childJob('tick-old', {
      finished: 'Complete',
      start: '2024-05-01T10:00:00Z',
      done: '2024-05-01T10:01:00Z',
    });
    const p = planCronJob({
      cronJob: cronJob({ suspend: true }, { active: [ref(done)] }),
      jobs: [done],
      missing: new Set(),
      now: NOW,
    });
    expect(p.create).toBeUndefined();
    expect(p.status.active).toBeUndefined();
    expect(p.status.lastSuccessfulTime).toBe('2024-05-01T10:01:00Z');
    expect(p.statusChanged).toBe(true);
    expect(p.events.map((e) => e.reason)).toEqual(['SawCompletedJob']);
  });

  it('startingDeadlineSeconds: too late for the missed schedule', () => {
    // hourly schedule, last ran 09:00, now 10:05, deadline 60 s: 10:00 is missed for good
    const cj = cronJob(
      { schedule: '0 * * * *', startingDeadlineSeconds: 60 },
      { lastScheduleTime: '2024-05-01T09:00:00Z' },
    );
    expect(
      planCronJob({ cronJob: cj, jobs: [], missing: new Set(), now: T('2024-05-01T10:05:00Z') }).create,
    ).toBeUndefined();
    // within the deadline it still starts
    const ok = planCronJob({ cronJob: cj, jobs: [], missing: new Set(), now: T('2024-05-01T10:00:40Z') });
    expect(ok.create?.scheduledTime).toBe(T('2024-05-01T10:00:00Z'));
  });

  it('does not start a schedule twice', () => {
    const cj = cronJob({}, { lastScheduleTime: '2024-05-01T10:05:00Z' });
    expect(planCronJob({ cronJob: cj, jobs: [], missing: new Set(), now: NOW }).create).toBeUndefined();
    const started = childJob(dueName);
    const cj2 = cronJob({}, { active: [ref(started)] });
    expect(planCronJob({ cronJob: cj2, jobs: [started], missing: new Set(), now: NOW }).create).toBeUndefined();
  });

  it('drops active Jobs that went missing and reports unexpected ones', () => {
    const gone = childJob('tick-gone');
    const stray = childJob('tick-stray');
    const p = planCronJob({
      cronJob: cronJob({ suspend: true }, { active: [ref(gone)] }),
      jobs: [stray],
      missing: new Set(['tick-gone']),
      now: NOW,
    });
    expect(p.status.active).toBeUndefined();
    expect(p.events.map((e) => e.reason).sort()).toEqual(['MissingJob', 'UnexpectedJob']);
  });

  it('keeps successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest start first', () => {
    const ok = ['a', 'b', 'c', 'd'].map((n, i) =>
      childJob(`tick-${n}`, {
        finished: 'Complete',
        start: `2024-05-01T0${i + 1}:00:00Z`,
        done: `2024-05-01T0${i + 1}:01:00Z`,
      }),
    );
    const bad = ['e', 'f'].map((n, i) =>
      childJob(`tick-${n}`, { finished: 'Failed', start: `2024-05-01T0${i + 5}:00:00Z` }),
    );
    const p = planCronJob({
      cronJob: cronJob({ suspend: true, successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 0 }),
      jobs: [...ok, ...bad],
      missing: new Set(),
      now: NOW,
    });
    expect(p.deleteJobs.map((d) => `${d.job.metadata.name} ${d.why}`)).toEqual([
      'tick-a history',
      'tick-b history',
      'tick-e history',
      'tick-f history',
    ]);
    expect(p.status.lastSuccessfulTime).toBe('2024-05-01T04:01:00Z');
  });

  it('records the started Job in status', () => {
    const j = { metadata: { name: dueName, namespace: 'default', uid: 'new', resourceVersion: '7' } };
    expect(withStartedJob({ lastSuccessfulTime: 'x' }, j, due)).toEqual({
      lastSuccessfulTime: 'x',
      lastScheduleTime: '2024-05-01T10:05:00Z',
      active: [
        { kind: 'Job', namespace: 'default', name: dueName, uid: 'new', apiVersion: 'batch/v1', resourceVersion: '7' },
      ],
    });
  });

  it('reports unparseable schedules instead of failing the sync', () => {
    const p = planCronJob({ cronJob: cronJob({ schedule: 'not a schedule' }), jobs: [], missing: new Set(), now: NOW });
    expect(p.create).toBeUndefined();
    expect(p.events.map((e) => e.reason)).toEqual(['UnparseableSchedule']);
  });
});
