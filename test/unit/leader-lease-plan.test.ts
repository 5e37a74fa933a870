// The leader-election step (client-go's tryAcquireOrRenew) as a table: create, acquire an
// expired or released lease, renew keeping acquireTime and leaseTransitions, wait for a live
// one judged on the local clock only, and the sole-candidate (SQLite) shortcut.
import { describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../controlplane/config.js';
import {
  microTime,
  planLease,
  rawRecord,
  releasedSpec,
  validateTimings,
  type LeaseSpec,
  type Observed,
} from '../../controlplane/leader/lease-plan.js';

const T0 = Date.UTC(2026, 11, 6, 3, 0, 0);
const held = (holder: string, extra: Partial<LeaseSpec> = {}): LeaseSpec => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: microTime(T0 - 60_000),
  renewTime: microTime(T0 - 1000),
  leaseTransitions: 3,
  ...extra,
});
const seen = (spec: LeaseSpec, at: number): Observed => ({ raw: rawRecord(spec), spec, at });

describe('planLease', () => {
  const other = held('b_2');
  const cases: {
    name: string;
    current?: LeaseSpec;
    observed?: Observed;
    now?: number;
    sole?: boolean;
    want: { action: string; transitions?: number; acquireTime?: string; until?: number };
  }[] = [
    {
      name: 'no Lease: create it, transitions 0',
      want: { action: 'create', transitions: 0, acquireTime: microTime(T0) },
    },
    {
      name: 'another holder first seen now: wait a full duration (local clock)',
      current: other,
      want: { action: 'wait', until: T0 + 15_000 },
    },
    {
      name: 'another holder whose record has not changed for 15 s: acquire, transitions + 1',
      current: other,
      observed: seen(other, T0 - 15_000),
      want: { action: 'acquire', transitions: 4, acquireTime: microTime(T0) },
    },
    {
      name: 'not changed for 14.999 s: still wait',
      current: other,
      observed: seen(other, T0 - 14_999),
      want: { action: 'wait', until: T0 + 1 },
    },
    {
      name: 'the record changed since (renewed): the wait starts again',
      current: held('b_2', { renewTime: microTime(T0) }),
      observed: seen(other, T0 - 60_000),
      want: { action: 'wait', until: T0 + 15_000 },
    },
    {
      name: 'remote timestamps are not trusted: a renewTime an hour old, first seen now, still waits',
      current: held('b_2', { renewTime: microTime(T0 - 3_600_000) }),
      want: { action: 'wait', until: T0 + 15_000 },
    },
    {
      name: 'released (no holder): acquire at once',
      current: releasedSpec(other, T0 - 500),
      want: { action: 'acquire', transitions: 4 },
    },
    {
      name: 'own Lease: renew, keep acquireTime and transitions',
      current: held('a_1'),
      observed: seen(held('a_1'), T0 - 2000),
      want: { action: 'renew', transitions: 3, acquireTime: microTime(T0 - 60_000) },
    },
    {
      name: 'own Lease seen expired (renewals failed) but nobody took it: renew',
      current: held('a_1'),
      observed: seen(held('a_1'), T0 - 30_000),
      want: { action: 'renew', transitions: 3 },
    },
    {
      name: "sole candidate (SQLite): an earlier run's live-looking Lease is taken at once",
      current: other,
      sole: true,
      want: { action: 'acquire', transitions: 4 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = planLease({
        current: c.current,
        observed: c.observed,
        identity: 'a_1',
        leaseDurationSeconds: 15,
        now: c.now ?? T0,
        soleCandidate: c.sole,
      });
      expect(p.action).toBe(c.want.action);
      if (p.action === 'wait') {
        expect(p.until).toBe(c.want.until);
        expect(p.holder).toBe('b_2');
      } else {
        expect(p.spec.holderIdentity).toBe('a_1');
        expect(p.spec.leaseDurationSeconds).toBe(15);
        expect(p.spec.renewTime).toBe(microTime(T0));
        if (c.want.transitions !== undefined) expect(p.spec.leaseTransitions).toBe(c.want.transitions);
        if (c.want.acquireTime !== undefined) expect(p.spec.acquireTime).toBe(c.want.acquireTime);
      }
    });
  }

  it('MicroTime has six fractional digits', () => {
    expect(microTime(Date.UTC(2026, 11, 6, 3, 4, 5, 67))).toBe('2026-12-06T03:04:05.067000Z');
  });

  it('release clears the holder, 1 s, keeps the transitions', () => {
    expect(releasedSpec(held('a_1'), T0)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: microTime(T0),
      renewTime: microTime(T0),
      leaseTransitions: 3,
    });
  });

  it('timings as NewLeaderElector checks them', () => {
    expect(validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 })).toBeUndefined();
    expect(validateTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 })).toMatch(
      /leaseDuration must be greater than renewDeadline/,
    );
    expect(validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2400, retryPeriodMs: 2000 })).toMatch(
      /retryPeriod\*JitterFactor/,
    );
  });
});

describe('skiff-server leader-election flags', () => {
  it('defaults: elect, 15s/10s/2s, server name from the hostname', () => {
    const c = parseServerArgs([]);
    expect(c.leaderElect).toBe(true);
    expect(c.leaderElection).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
    expect(c.serverName).toBeUndefined();
  });
  it("Kubernetes' flag names; refused when NewLeaderElector would refuse them", () => {
    const c = parseServerArgs([
      '--leader-elect=false',
      '--leader-elect-lease-duration',
      '30s',
      '--leader-elect-renew-deadline',
      '20s',
      '--leader-elect-retry-period',
      '4s',
      '--server-name',
      'cp-1',
    ]);
    expect(c).toMatchObject({
      leaderElect: false,
      serverName: 'cp-1',
      leaderElection: { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 4000 },
    });
    expect(() => parseServerArgs(['--leader-elect-lease-duration', '10s'])).toThrow(
      /leaseDuration must be greater than renewDeadline/,
    );
    expect(() => parseServerArgs(['--leader-elect-retry-period', '9s'])).toThrow(/retryPeriod\*JitterFactor/);
    expect(() => parseServerArgs(['--server-name', 'Bad_Name'])).toThrow(/--server-name/);
  });
});
