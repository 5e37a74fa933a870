// Leader election for one component (kube-controller-manager, kube-scheduler) on its Lease
// in kube-system, as client-go's LeaderElector: a candidate tries every retryPeriod (with
// client-go's jitter, the first try at once); the leader renews every retryPeriod and gives
// up when no renewal succeeded for renewDeadline, or at once when it finds another holder.
// Losing ends the term (onStoppedLeading) and the server becomes a candidate again; stop()
// releases a held Lease so another server takes over without waiting for it to expire.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { Logger } from 'pino';
import type { ApiStorage } from '../api/storage.js';
import { ApiError } from '../api/errors.js';
import { findResource } from '../resources/index.js';
import type { KubeObject } from '../../proto/meta.js';
import {
  DEFAULT_TIMINGS,
  JITTER_FACTOR,
  planLease,
  rawRecord,
  releasedSpec,
  type ElectionTimings,
  type LeaseSpec,
  type Observed,
} from './lease-plan.js';

export { DEFAULT_TIMINGS, validateTimings, type ElectionTimings } from './lease-plan.js';

export interface Clock {
  now(): number;
  /** run fn after ms; returns a cancel function */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export interface LeaderElectorOptions {
  storage: ApiStorage;
  /** the Lease's name in kube-system */
  name: string;
  namespace?: string;
  identity: string;
  timings?: ElectionTimings;
  soleCandidate?: boolean;
  clock?: Clock;
  random?: () => number;
  log: Logger;
  /** the term began (not awaited); `term.active` turns false when it ends */
  onStartedLeading(term: Term): void | Promise<void>;
  onStoppedLeading(): void;
  /** leader_election_master_status */
  onStatus?(leading: boolean): void;
}

export interface Term {
  readonly active: boolean;
}

const leaseDef = () => findResource('coordination.k8s.io', 'v1', 'leases')!;

export class LeaderElector {
  private observed: Observed | undefined;
  private term: { active: boolean } | undefined;
  private lastRenew = 0;
  private cancelTick: (() => void) | undefined;
  private cancelDeadline: (() => void) | undefined;
  private running = false;
  private attempt: Promise<void> | undefined;
  private readonly clock: Clock;
  private readonly timings: ElectionTimings;
  private readonly ns: string;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.clock = opts.clock ?? realClock;
    this.timings = opts.timings ?? DEFAULT_TIMINGS;
    this.ns = opts.namespace ?? 'kube-system';
  }

  get isLeader(): boolean {
    return this.term?.active === true;
  }

  /** the holder last seen (this identity while leading) */
  get leader(): string {
    return this.observed?.spec.holderIdentity ?? '';
  }

  /** resolves once the current try finished (tests) */
  settled(): Promise<void> {
    return this.attempt ?? Promise.resolve();
  }

  /** begin; resolves after the first try (at once, as wait.JitterUntil's first call) */
  start(): Promise<void> {
    if (this.running) return this.settled();
    this.running = true;
    this.opts.onStatus?.(false);
    this.opts.log.info(
      { lease: `${this.ns}/${this.opts.name}`, identity: this.opts.identity },
      'attempting to acquire leader lease',
    );
    this.schedule(0);
    return this.settled();
  }

  /** stop trying; a held Lease is ended and released (its holder cleared) */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.cancelTick?.();
    this.cancelDeadline?.();
    await this.attempt?.catch(() => undefined);
    const wasLeader = this.isLeader;
    this.endTerm('stopped');
    if (wasLeader) await this.release();
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    const run = () => {
      this.attempt = this.tryAcquireOrRenew().finally(() => {
        this.attempt = undefined;
      });
      void this.attempt.then(() => {
        if (!this.running) return;
        const r = this.timings.retryPeriodMs;
        // the leader renews every retryPeriod; candidates wait with jitter (wait.JitterUntil)
        this.schedule(this.isLeader ? r : r * (1 + (this.opts.random ?? Math.random)() * JITTER_FACTOR));
      });
    };
    if (ms === 0) run();
    else this.cancelTick = this.clock.after(ms, run);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const def = leaseDef();
    const { storage, name, identity, log } = this.opts;
    let current: KubeObject | undefined;
    try {
      current = await storage.tryGet(def, this.ns, name);
    } catch (err) {
      log.warn({ err, lease: name }, 'error retrieving resource lock');
      return;
    }
    if (!this.running) return;
    const plan = planLease({
      current: current?.spec as LeaseSpec | undefined,
      observed: this.observed,
      identity,
      leaseDurationSeconds: Math.round(this.timings.leaseDurationMs / 1000),
      now: this.clock.now(),
      soleCandidate: this.opts.soleCandidate,
    });
    this.observed = plan.observed;
    if (plan.action === 'wait') {
      // another holder with a live lease: a leader that sees this has lost already
      if (this.isLeader) this.endTerm(`lease held by ${plan.holder}`);
      return;
    }
    const now = this.clock.now();
    try {
      const written =
        plan.action === 'create'
          ? await storage.create(
              def,
              this.ns,
              {
                apiVersion: 'coordination.k8s.io/v1',
                kind: 'Lease',
                metadata: { name, namespace: this.ns },
                spec: plan.spec,
              },
              { fieldManager: name },
            )
          : await storage.update(def, this.ns, name, { ...current!, spec: plan.spec }, { fieldManager: name });
      const spec = written.spec as LeaseSpec;
      this.observed = { raw: rawRecord(spec), spec, at: now };
    } catch (err) {
      if (!(err instanceof ApiError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists')))
        log.warn({ err, lease: name }, 'failed to update lock');
      return;
    }
    // a write that took longer than renewDeadline renews nothing we may act on
    if (!this.running || this.clock.now() >= now + this.timings.renewDeadlineMs) return;
    this.lastRenew = now;
    this.armDeadline();
    if (!this.isLeader) {
      this.term = { active: true };
      log.info({ lease: `${this.ns}/${name}`, identity }, 'successfully acquired lease');
      this.opts.onStatus?.(true);
      // not awaited (client-go runs OnStartedLeading in its own goroutine): renewals go on while the work starts
      const term = this.term;
      const failed = (err: unknown) => {
        log.error({ err, lease: name }, "starting the leader's work failed");
        if (this.term === term) this.endTerm('start failed');
      };
      try {
        void Promise.resolve(this.opts.onStartedLeading(term)).catch(failed);
      } catch (err) {
        failed(err);
      }
    }
  }

  /** renewDeadline after the last renewal without another one: the term ends, even while a write hangs */
  private armDeadline(): void {
    this.cancelDeadline?.();
    this.cancelDeadline = this.clock.after(this.lastRenew + this.timings.renewDeadlineMs - this.clock.now(), () => {
      if (this.isLeader) this.endTerm(`no renewal for ${this.timings.renewDeadlineMs} ms`);
    });
  }

  private endTerm(why: string): void {
    if (!this.term?.active) return;
    this.term.active = false;
    this.term = undefined;
    this.cancelDeadline?.();
    this.opts.log.warn({ lease: `${this.ns}/${this.opts.name}`, why }, 'leaderelection lost');
    this.opts.onStatus?.(false);
    this.opts.onStoppedLeading();
  }

  private async release(): Promise<void> {
    const def = leaseDef();
    try {
      const cur = await this.opts.storage.tryGet(def, this.ns, this.opts.name);
      if (!cur || cur.spec?.holderIdentity !== this.opts.identity) return;
      await this.opts.storage.update(
        def,
        this.ns,
        this.opts.name,
        { ...cur, spec: { ...cur.spec, ...releasedSpec(cur.spec as LeaseSpec, this.clock.now()) } },
        { fieldManager: this.opts.name },
      );
    } catch (err) {
      this.opts.log.warn({ err, lease: this.opts.name }, 'failed to release lock');
    }
  }
}
