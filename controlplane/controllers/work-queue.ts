// Keys to reconcile (client-go's rate-limited work queue): a key is queued once however
// often it is added, never processed by two workers at once, re-run if added while being
// processed, and re-queued with exponential back-off when its sync fails.

export class WorkQueue {
  private queue: string[] = [];
  private queued = new Set<string>();
  private processing = new Set<string>();
  private dirty = new Set<string>();
  private failures = new Map<string, number>();
  private timers = new Set<NodeJS.Timeout>();
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly baseDelayMs = 100,
    private readonly maxDelayMs = 60_000,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  get length(): number {
    return this.queue.length;
  }

  /** run `sync` on keys with `workers` concurrent workers until stop() */
  run(sync: (key: string) => Promise<void>, workers = 1, onError?: (key: string, err: unknown) => void): void {
    for (let i = 0; i < workers; i++) void this.worker(sync, onError);
  }

  private async worker(
    sync: (key: string) => Promise<void>,
    onError?: (key: string, err: unknown) => void,
  ): Promise<void> {
    while (!this.stopped) {
      const key = this.queue.shift();
      if (key === undefined) {
        await new Promise<void>((r) => {
          this.waiters.push(r);
        });
        continue;
      }
      this.queued.delete(key);
      this.processing.add(key);
      try {
        await sync(key);
        this.forget(key);
      } catch (err) {
        onError?.(key, err);
        this.addRateLimited(key);
      } finally {
        this.processing.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.waiters.splice(0)) w();
  }
}
