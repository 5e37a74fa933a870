// Durations on command lines: 500ms, 10s, 5m, 1h (a bare number is seconds).

export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v} (use e.g. 500ms, 10s, 5m)`);
  const unit = (m[2] ?? 's') as 'ms' | 's' | 'm' | 'h';
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]);
}
