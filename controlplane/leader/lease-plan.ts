// One step of leader election on a coordination.k8s.io/v1 Lease, as client-go's
// tryAcquireOrRenew (tools/leaderelection/leaderelection.go): given the Lease as read, what
// this candidate observed before, its identity and the local clock, decide to create,
// acquire, renew or wait. Pure: leader-elector.ts reads, asks, writes.
//
// Expiry is judged on the local clock only: a record counts as renewed when it differs from
// the one observed last, and it expires leaseDurationSeconds after that observation — the
// holder's own timestamps are never compared with ours (tolerant of clock skew, as client-go).

/** client-go's JitterFactor: a candidate waits retryPeriod * [1, 2.2) between tries */
export const JITTER_FACTOR = 1.2;

export interface ElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** kube-controller-manager's and kube-scheduler's defaults: 15 s, 10 s, 2 s */
export const DEFAULT_TIMINGS: ElectionTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** NewLeaderElector's checks, with its messages */
export function validateTimings(t: ElectionTimings): string | undefined {
  if (!(t.leaseDurationMs >= 1000)) return 'leaseDuration must be at least 1s';
  if (t.leaseDurationMs <= t.renewDeadlineMs) return 'leaseDuration must be greater than renewDeadline';
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs)
    return 'renewDeadline must be greater than retryPeriod*JitterFactor';
  if (!(t.retryPeriodMs >= 1)) return 'retryPeriod must be greater than zero';
  return undefined;
}

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** what a candidate remembers of the Lease: the record it last saw and when (local ms) it first saw it */
export interface Observed {
  raw: string;
  spec: LeaseSpec;
  at: number;
}

export interface PlanInput {
  /** the Lease's spec as read; undefined when there is no Lease */
  current: LeaseSpec | undefined;
  observed: Observed | undefined;
  identity: string;
  leaseDurationSeconds: number;
  /** local clock, ms since the epoch */
  now: number;
  /**
   * No other server can share this store (SQLite behind its data-dir lock): any other
   * holder is an earlier run of this server, so its lease is taken at once.
   */
  soleCandidate?: boolean;
}

export type LeaseAction =
  | { action: 'create'; spec: LeaseSpec }
  | { action: 'acquire'; spec: LeaseSpec }
  | { action: 'renew'; spec: LeaseSpec }
  /** held by another candidate until `until` (local ms) at the earliest */
  | { action: 'wait'; holder: string; until: number };

export type LeasePlan = LeaseAction & { observed: Observed | undefined };

/** metav1.MicroTime: RFC 3339 UTC with six fractional digits */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** the election record's fields in a fixed order: what "the record changed" compares */
export function rawRecord(spec: LeaseSpec): string {
  return JSON.stringify([
    spec.holderIdentity ?? '',
    spec.leaseDurationSeconds ?? 0,
    spec.acquireTime ?? '',
    spec.renewTime ?? '',
    spec.leaseTransitions ?? 0,
  ]);
}

export function planLease(input: PlanInput): LeasePlan {
  const { current, identity, now } = input;
  const fresh: LeaseSpec = {
    holderIdentity: identity,
    leaseDurationSeconds: input.leaseDurationSeconds,
    acquireTime: microTime(now),
    renewTime: microTime(now),
    leaseTransitions: 0,
  };
  if (!current) return { action: 'create', spec: fresh, observed: input.observed };
  const raw = rawRecord(current);
  const observed = input.observed?.raw === raw ? input.observed : { raw, spec: current, at: now };
  const holder = current.holderIdentity ?? '';
  const validUntil = observed.at + (current.leaseDurationSeconds ?? 0) * 1000;
  if (holder && holder !== identity && validUntil > now && !input.soleCandidate)
    return { action: 'wait', holder, until: validUntil, observed };
  if (holder === identity) {
    return {
      action: 'renew',
      spec: {
        ...fresh,
        acquireTime: current.acquireTime ?? fresh.acquireTime,
        leaseTransitions: current.leaseTransitions ?? 0,
      },
      observed,
    };
  }
  return { action: 'acquire', spec: { ...fresh, leaseTransitions: (current.leaseTransitions ?? 0) + 1 }, observed };
}

/** the record a holder leaves on a clean stop (client-go's release with ReleaseOnCancel): no holder, 1 s, so a candidate takes it at once */
export function releasedSpec(current: LeaseSpec, now: number): LeaseSpec {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: microTime(now),
    renewTime: microTime(now),
    leaseTransitions: current.leaseTransitions ?? 0,
  };
}
