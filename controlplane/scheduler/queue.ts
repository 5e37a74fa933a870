// The scheduling queue (kube-scheduler internal/queue): an active queue of pod keys
// (highest spec.priority first, FIFO among equals: the PrioritySort plugin), a
// back-off area, and unschedulable pods parked until a cluster event or the periodic
// flush moves them back. Workqueue rules: a key is never processed twice at once; an
// add while it is being processed re-queues it when done.

export interface QueueOptions {
  now?: () => number;
  /** first retry delay; doubles per attempt (podInitialBackoffDuration, 1 s) */
  initialBackoffMs?: number;
  /** cap (podMaxBackoffDuration, 10 s) */
  maxBackoffMs?: number;
  /** a key's pod priority (spec.priority): the active queue pops the highest first (PrioritySort), FIFO among equals */
  priorityOf?: (key: string) => number;
}

export class SchedulingQueue {
  private active: string[] = [];
  private activePriority = new Map<string, number>();
  private queued = new Set<string>();
  private processing = new Set<string>();
  private dirty = new Set<string>();
  /** keys being processed when a cluster event asked to move parked pods (moveRequestCycle) */
  private movedWhileProcessing = new Set<string>();
  private attempts = new Map<string, number>();
  /** key -> time its back-off ends; parked until moved */
  private unschedulable = new Map<string, number>();
  /** key -> time it becomes active */
  private backoff = new Map<string, number>();
  private waiters: Array<(key: string | undefined) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly priorityOf: ((key: string) => number) | undefined;

  constructor(opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.initialMs = opts.initialBackoffMs ?? 1000;
    this.maxMs = opts.maxBackoffMs ?? 10_000;
    this.priorityOf = opts.priorityOf;
  }

  /** New or changed pod: schedule it now. */
  add(key: string): void {
    if (this.closed) return;
    this.unschedulable.delete(key);
    this.backoff.delete(key);
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.enqueue(key);
    this.wake();
  }

  /** The pod fit nowhere: park it until something changes. */
  addUnschedulable(key: string): void {
    if (this.closed || this.dirty.has(key)) return;
    // the cluster changed during the attempt (a victim went away): retry after the back-off
    if (this.movedWhileProcessing.delete(key)) {
      this.addBackoff(key);
      return;
    }
    this.unschedulable.set(key, this.now() + this.bumpBackoff(key));
  }

  /** The attempt failed with an error: retry after the back-off. */
  addBackoff(key: string): void {
    if (this.closed || this.dirty.has(key)) return;
    this.backoff.set(key, this.now() + this.bumpBackoff(key));
    this.arm();
  }

  /** A cluster event that may make parked pods fit: retry them once their back-off is over. */
  moveAllToActive(): void {
    if (this.closed) return;
    for (const key of this.processing) this.movedWhileProcessing.add(key);
    const now = this.now();
    for (const [key, until] of this.unschedulable) {
      this.unschedulable.delete(key);
      if (until <= now) this.add(key);
      else this.backoff.set(key, until);
    }
    this.arm();
  }

  /** Success or the pod is gone: drop it and its attempt history. */
  forget(key: string): void {
    this.attempts.delete(key);
    this.unschedulable.delete(key);
    this.backoff.delete(key);
    if (this.queued.delete(key)) {
      this.active = this.active.filter((k) => k !== key);
      this.activePriority.delete(key);
    }
  }

  /** Next key to process, waiting for one; undefined once closed. */
  pop(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined || this.closed) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Processing of `key` is over. */
  done(key: string): void {
    this.processing.delete(key);
    this.movedWhileProcessing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  stats(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.active.length, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  private bumpBackoff(key: string): number {
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(n - 1, 30));
  }

  private take(): string | undefined {
    const key = this.active.shift();
    if (key === undefined) return undefined;
    this.activePriority.delete(key);
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  /**
   * PrioritySort: behind every key of equal or higher priority, ahead of lower ones (a pod's
   * priority is immutable, so its place is fixed once queued). Equal priorities append in O(1).
   */
  private enqueue(key: string): void {
    const p = this.priorityOf?.(key) ?? 0;
    this.activePriority.set(key, p);
    let i = this.active.length;
    while (i > 0 && (this.activePriority.get(this.active[i - 1]!) ?? 0) < p) i--;
    this.active.splice(i, 0, key);
  }

  private wake(): void {
    while (this.waiters.length && this.active.length) this.waiters.shift()!(this.take());
  }

  /** one timer for the earliest back-off to end */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.backoff.size === 0) return;
    const next = Math.min(...this.backoff.values());
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = this.now();
        for (const [key, at] of this.backoff) if (at <= now) this.add(key);
        this.arm();
      },
      Math.max(0, next - this.now()),
    );
    this.timer.unref?.();
  }
}
