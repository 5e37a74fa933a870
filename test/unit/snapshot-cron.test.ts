import { describe, expect, it } from 'vitest';
import { cronMatches, nextCronTime, parseCron } from '../../controlplane/snapshot/cron.js';

const at = (s: string) => new Date(`${s}Z`);

describe('snapshot schedule (5-field cron)', () => {
  it.each([
    ['0 */6 * * *', '2026-12-05T00:00:00', true],
    ['0 */6 * * *', '2026-12-05T06:00:00', true],
    ['0 */6 * * *', '2026-12-05T07:00:00', false],
    ['0 */6 * * *', '2026-12-05T06:01:00', false],
    ['*/15 * * * *', '2026-12-05T10:45:00', true],
    ['*/15 * * * *', '2026-12-05T10:46:00', false],
    ['30 2 1 * *', '2026-12-01T02:30:00', true],
    ['30 2 1 * *', '2026-12-02T02:30:00', false],
    ['0 3 * * 0', '2026-12-06T03:00:00', true], // a Sunday
    ['0 3 * * 7', '2026-12-06T03:00:00', true],
    ['0 3 * * 1-5', '2026-12-06T03:00:00', false],
    ['0 3 * * 1-5', '2026-12-07T03:00:00', true],
    ['0 0 13 * 5', '2026-12-13T00:00:00', true], // either day field (Vixie cron): the 13th
    ['0 0 13 * 5', '2026-12-11T00:00:00', true], // or a Friday
    ['0 0 13 * 5', '2026-12-12T00:00:00', false],
    ['5,10 1-3/2 * 6,12 *', '2026-12-05T03:10:00', true],
    ['5,10 1-3/2 * 6,12 *', '2026-12-05T02:10:00', false],
    ['5,10 1-3/2 * 6,12 *', '2026-11-05T03:10:00', false],
  ])('%s at %s: %s', (spec, time, want) => {
    expect(cronMatches(parseCron(spec), at(time))).toBe(want);
  });

  it.each([
    '* * * *',
    '60 * * * *',
    '* 24 * * *',
    '* * 0 * *',
    '* * * 13 *',
    '* * * * 8',
    'a * * * *',
    '*/0 * * * *',
    '5-1 * * * *',
    '* * * * mon',
  ])('refuses %s', (spec) => {
    expect(() => parseCron(spec)).toThrow(/--snapshot-schedule/);
  });

  it('finds the next time', () => {
    expect(nextCronTime(parseCron('0 */6 * * *'), at('2026-12-05T17:21:13'))).toEqual(at('2026-12-05T18:00:00'));
    expect(nextCronTime(parseCron('0 0 29 2 *'), at('2026-12-05T00:00:00'))).toEqual(at('2028-02-29T00:00:00'));
  });
});
