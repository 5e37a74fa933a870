// One probe of one container (kubelet's prober worker): a timer every periodSeconds
// runs the probe when its gate allows, counts results against the thresholds and
// publishes a result once a threshold is reached. Bound to one container id: a
// restarted container gets new workers.
import { countResult, DEFAULT_PERIOD_SECONDS, FRESH, initialResult, probeGate, type ThresholdState } from './rules.js';
import type { ProbeOutcome } from './prober.js';
import type { Clock, Probe, ProbeResult, ProbeType } from './types.js';

export interface ProbeWorkerHost {
  clock: Clock;
  /** has this container passed its startup probe (or has none)? */
  started(containerId: string): boolean;
  /** run the probe once (and record the Unhealthy event) */
  probe(w: ProbeWorker): Promise<ProbeOutcome>;
  /** publish a result; notify=false for the initial value */
  set(w: ProbeWorker, result: ProbeResult, notify: boolean): void;
}

export class ProbeWorker {
  private state: ThresholdState = FRESH;
  private timer: unknown;
  private stopped = false;
  private busy = false;
  private pending = false;

  constructor(
    readonly uid: string,
    readonly containerName: string,
    readonly type: ProbeType,
    readonly probe: Probe,
    readonly containerId: string,
    readonly startedAtMs: number,
    private readonly host: ProbeWorkerHost,
  ) {}

  get key(): string {
    return `${this.uid}/${this.containerName}/${this.type}`;
  }
  get onHold(): boolean {
    return this.state.onHold;
  }

  start(): void {
    const init = initialResult(this.type);
    if (init) this.host.set(this, init, false);
    this.schedule(0);
  }

  /** probe now instead of at the next tick (kubelet's manualTriggerCh) */
  trigger(): void {
    if (this.stopped || this.state.onHold) return;
    if (this.busy) {
      this.pending = true;
      return;
    }
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.host.clock.clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    this.host.clock.clearTimeout(this.timer);
    this.timer = this.host.clock.setTimeout(() => void this.tick(), Math.max(0, ms));
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.busy) return;
    this.busy = true;
    const clock = this.host.clock;
    const periodMs = (this.probe.periodSeconds || DEFAULT_PERIOD_SECONDS) * 1000;
    const t0 = clock.now();
    let next = periodMs;
    try {
      const gate = probeGate(this.type, {
        onHold: this.state.onHold,
        sinceStartMs: t0 - this.startedAtMs,
        initialDelaySeconds: this.probe.initialDelaySeconds,
        started: this.host.started(this.containerId),
      });
      if (gate.action === 'wait') next = gate.ms;
      else if (gate.action === 'skip' && this.type === 'startup')
        return; // started: nothing left to do
      else if (gate.action === 'probe') {
        const out = await this.host.probe(this);
        if (this.stopped) return;
        if ('result' in out) {
          const c = countResult(this.state, out.result, this.type, this.probe);
          this.state = c.state;
          if (c.set) this.host.set(this, c.set, true);
        }
        next = t0 + periodMs - clock.now();
      }
    } finally {
      this.busy = false;
    }
    if (this.stopped || this.state.onHold) return;
    if (this.pending) {
      this.pending = false;
      next = 0;
    }
    this.schedule(next);
  }
}
