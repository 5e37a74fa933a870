// Cron schedules as robfig/cron/v3's ParseStandard reads them (what the CronJob
// controller uses): 5 fields (minute hour day-of-month month day-of-week) with ranges,
// lists, steps and names, or @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly
// and @every <duration>. next() finds the first matching minute strictly after a time,
// evaluated in a time zone (IANA name; undefined = this process's local zone), giving up
// after five years as robfig does. Syntax errors are cron-schedule.ts's (the API's).
import { cronScheduleError } from '../../resources/cron-schedule.js';

export interface Schedule {
  /** the first activation strictly after `t` (ms since epoch), or undefined when there is none */
  next(t: number): number | undefined;
}

export class ScheduleError extends Error {}

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const BOUNDS: Array<{ min: number; max: number; names?: Record<string, number> }> = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DAYS },
];
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const FIVE_YEARS_MS = 5 * 366 * 24 * 3600_000;
const MINUTE = 60_000;

/** one field: the set of allowed values, and robfig's "star bit" (the field started with * or ?, step 1) */
interface FieldSet {
  values: Set<number>;
  star: boolean;
}

function parseValue(s: string, names?: Record<string, number>): number {
  return names?.[s.toLowerCase()] ?? Number(s);
}

function parseField(field: string, b: { min: number; max: number; names?: Record<string, number> }): FieldSet {
  const values = new Set<number>();
  let star = false;
  for (const expr of field.split(',').filter((e) => e.length > 0)) {
    const [range, stepStr] = expr.split('/') as [string, string | undefined];
    const lowHigh = range.split('-');
    let start: number;
    let end: number;
    let exprStar = false;
    if (lowHigh[0] === '*' || lowHigh[0] === '?') {
      start = b.min;
      end = b.max;
      exprStar = true;
    } else {
      start = parseValue(lowHigh[0]!, b.names);
      end = lowHigh.length === 2 ? parseValue(lowHigh[1]!, b.names) : start;
    }
    let step = 1;
    if (stepStr !== undefined) {
      step = Number(stepStr);
      if (lowHigh.length === 1 && !exprStar) end = b.max; // "N/step" is "N-max/step"
      if (step > 1) exprStar = false;
    }
    for (let v = start; v <= end; v += step) values.add(v);
    if (exprStar) star = true;
  }
  return { values, star };
}

interface WallClock {
  month: number;
  day: number;
  dow: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(tz: string | undefined): Intl.DateTimeFormat {
  const key = tz ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(key, f);
  }
  return f;
}

/** wall-clock fields of an instant in a zone */
export function wallClock(t: number, tz: string | undefined): WallClock & { year: number; second: number } {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    dow: WEEKDAYS[parts.weekday!] ?? 0,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** offset of the zone from UTC at instant t, in minutes (east positive) */
export function zoneOffsetMinutes(t: number, tz: string | undefined): number {
  const w = wallClock(t, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(t / 1000) * 1000) / MINUTE);
}

/** Go's time.RFC3339 of an instant in a zone: "2006-01-02T15:04:05Z07:00" (Z when the offset is 0). */
export function formatRfc3339(t: number, tz: string | undefined): string {
  const off = zoneOffsetMinutes(t, tz);
  const local = new Date(Math.floor(t / 1000) * 1000 + off * MINUTE).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const a = Math.abs(off);
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

class SpecSchedule implements Schedule {
  constructor(
    private readonly minute: FieldSet,
    private readonly hour: FieldSet,
    private readonly dom: FieldSet,
    private readonly month: FieldSet,
    private readonly dow: FieldSet,
    private readonly tz: string | undefined,
  ) {}

  /** robfig's dayMatches: if either day field is a star both must match, else either may. */
  private dayMatches(w: WallClock): boolean {
    const domMatch = this.dom.values.has(w.day);
    const dowMatch = this.dow.values.has(w.dow);
    if (this.dom.star || this.dow.star) return domMatch && dowMatch;
    return domMatch || dowMatch;
  }

  next(t: number): number | undefined {
    // Steps move in real minutes and never jump past a wall-clock boundary that a DST
    // change could bring closer (hence the two-hour margin when skipping a day).
    let c = Math.floor(t / MINUTE) * MINUTE + MINUTE;
    const limit = t + FIVE_YEARS_MS;
    while (c <= limit) {
      const w = wallClock(c, this.tz);
      if (!this.month.values.has(w.month) || !this.dayMatches(w)) {
        const left = 24 * 60 - (w.hour * 60 + w.minute);
        c += (left > 120 ? left - 120 : 60 - w.minute) * MINUTE;
        continue;
      }
      if (!this.hour.values.has(w.hour)) {
        c += (60 - w.minute) * MINUTE;
        continue;
      }
      if (!this.minute.values.has(w.minute)) {
        let m = w.minute + 1;
        while (m < 60 && !this.minute.values.has(m)) m++;
        c += (m - w.minute) * MINUTE;
        continue;
      }
      return c;
    }
    return undefined;
  }
}

class ConstantDelaySchedule implements Schedule {
  constructor(private readonly delayMs: number) {}

  /** robfig's ConstantDelaySchedule: the delay (whole seconds, at least 1 s) after t truncated to the second. */
  next(t: number): number {
    return Math.floor(t / 1000) * 1000 + this.delayMs;
  }
}

const GO_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration ("1h30m", "90s", "1.5h"), in milliseconds. */
export function goDurationMs(d: string): number {
  const m = /^([-+]?)(.*)$/.exec(d)!;
  if (m[2] === '0') return 0;
  let total = 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let i = 0;
  while (i < m[2]!.length) {
    re.lastIndex = i;
    const p = re.exec(m[2]!);
    if (!p) throw new ScheduleError(`time: invalid duration ${JSON.stringify(d)}`);
    total += Number(p[1]) * GO_UNITS_MS[p[2]!]!;
    i = re.lastIndex;
  }
  if (i === 0) throw new ScheduleError(`time: invalid duration ${JSON.stringify(d)}`);
  return m[1] === '-' ? -total : total;
}

/** Parses a schedule (throws ScheduleError with robfig's message when invalid). */
export function parseSchedule(spec: string, timeZone?: string): Schedule {
  const err = cronScheduleError(spec);
  if (err) throw new ScheduleError(err);
  let s = spec.trim();
  let tz = timeZone;
  if (s.startsWith('TZ=') || s.startsWith('CRON_TZ=')) {
    const i = s.indexOf(' ');
    tz = s.slice(s.indexOf('=') + 1, i);
    s = s.slice(i).trim();
  }
  if (tz !== undefined) {
    try {
      formatter(tz);
    } catch {
      throw new ScheduleError(`provided bad location ${tz}: unknown time zone ${tz}`);
    }
  }
  if (s.startsWith('@every ')) {
    const ms = goDurationMs(s.slice('@every '.length));
    return new ConstantDelaySchedule(Math.max(1000, ms - (ms % 1000)));
  }
  if (s.startsWith('@')) s = DESCRIPTORS[s]!;
  const fields = s.split(/\s+/).filter((f) => f.length > 0);
  const [minute, hour, dom, month, dow] = fields.map((f, i) => parseField(f, BOUNDS[i]!)) as [
    FieldSet,
    FieldSet,
    FieldSet,
    FieldSet,
    FieldSet,
  ];
  return new SpecSchedule(minute, hour, dom, month, dow, tz);
}
