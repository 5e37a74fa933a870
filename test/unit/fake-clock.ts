// A manual clock for loops that take a Clock (leader/leader-elector.ts): now() moves only
// when the test advances it, and timers due by then fire in order.
import type { Clock } from '../../controlplane/leader/leader-elector.js';

export class FakeClock implements Clock {
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(private t = Date.UTC(2026, 11, 6, 3, 0, 0)) {}

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /** move time forward by ms, firing every timer due on the way (each after the work before it settled) */
  async advance(ms: number, settle: () => Promise<void> = () => new Promise((r) => setTimeout(r, 5))): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}
