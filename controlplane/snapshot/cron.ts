// A 5-field cron schedule (minute hour day-of-month month day-of-week), as crontab(5)
// reads it: numbers, `*`, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`; day-of-week
// 0-7 with 0 and 7 Sunday; when both day fields are restricted a day matching either
// runs (Vixie cron). No names (`mon`, `jan`) and no `@daily`. Times are UTC.
import { InvalidArgumentError } from 'commander';

export interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** day-of-month / day-of-week given as `*` */
  anyDay: boolean;
  anyWeekday: boolean;
}

const FIELDS: [string, number, number][] = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 7],
];

function field(text: string, [name, min, max]: [string, number, number], spec: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`--snapshot-schedule "${spec}": bad ${name} "${part}"`);
    let lo = min;
    let hi = max;
    if (m[1] !== '*') {
      lo = Number(m[2]);
      hi = m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : lo;
    }
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < min || hi > max || lo > hi || step < 1)
      throw new InvalidArgumentError(`--snapshot-schedule "${spec}": ${name} "${part}" out of range ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCron(spec: string): Cron {
  const parts = spec.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new InvalidArgumentError(
      `--snapshot-schedule "${spec}": want 5 fields (minute hour day-of-month month day-of-week)`,
    );
  const [minutes, hours, days, months, weekdays] = parts.map((p, i) => field(p, FIELDS[i]!, spec)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (weekdays.has(7)) weekdays.add(0);
  return { minutes, hours, days, months, weekdays, anyDay: parts[2] === '*', anyWeekday: parts[4] === '*' };
}

/** does the minute of `at` (UTC) match */
export function cronMatches(c: Cron, at: Date): boolean {
  return c.minutes.has(at.getUTCMinutes()) && c.hours.has(at.getUTCHours()) && dayMatches(c, at);
}

function dayMatches(c: Cron, t: Date): boolean {
  if (!c.months.has(t.getUTCMonth() + 1)) return false;
  const dom = c.days.has(t.getUTCDate());
  const dow = c.weekdays.has(t.getUTCDay());
  if (c.anyDay && c.anyWeekday) return true;
  if (c.anyDay) return dow;
  if (c.anyWeekday) return dom;
  return dom || dow;
}

/** the first whole minute after `after` that matches (searching at most 5 years: Feb 29 comes) */
export function nextCronTime(c: Cron, after: Date): Date | undefined {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setTime(t.getTime() + 60_000);
  const end = after.getTime() + 5 * 366 * 86_400_000;
  while (t.getTime() <= end) {
    if (!dayMatches(c, t)) {
      t.setUTCHours(24, 0, 0, 0);
      continue;
    }
    if (!c.hours.has(t.getUTCHours())) {
      t.setUTCMinutes(60, 0, 0);
      continue;
    }
    if (c.minutes.has(t.getUTCMinutes())) return new Date(t.getTime());
    t.setTime(t.getTime() + 60_000);
  }
  return undefined;
}
