// How controllers create many objects without flooding the store, as kube-controller-manager
// does: at most BURST_REPLICAS creations (or deletions) per sync (burstReplicas), created in
// slow-start batches of 1, 2, 4, ... that stop at the first failing batch
// (controller.slowStartBatch), and every creation takes a token from one bucket shared by all
// controllers (kube-controller-manager's client rate limit, --kube-api-qps/--kube-api-burst;
// here --controllers-qps/--controllers-burst and for creations only).

/** controller.SlowStartInitialBatchSize */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;
/** ReplicaSet/Job burstReplicas (MaxPodCreateDeletePerSync): creations or deletions per sync */
export const BURST_REPLICAS = 500;

/** The batch sizes slowStartBatch runs for `count` calls: initial, 2×, 4×, ... the last one cut to what is left. */
export function slowStartBatches(count: number, initial = SLOW_START_INITIAL_BATCH_SIZE): number[] {
  const out: number[] = [];
  let remaining = Math.max(0, Math.floor(count));
  for (let batch = Math.min(remaining, Math.max(1, initial)); batch > 0; batch = Math.min(2 * batch, remaining)) {
    out.push(batch);
    remaining -= batch;
  }
  return out;
}

/**
 * Calls fn `count` times in growing batches (1, 2, 4, ...); the calls of one batch run in
 * parallel. After a batch with a failure nothing more is tried. Returns how many calls
 * succeeded and the first error; the caller lowers its expectations by count - ok.
 * fn gets the call's index (0 .. count-1) in order.
 */
export async function slowStartBatch(
  count: number,
  initial: number,
  fn: (index: number) => Promise<void>,
): Promise<{ ok: number; error?: Error }> {
  let ok = 0;
  let next = 0;
  for (const batch of slowStartBatches(count, initial)) {
    const first = next;
    next += batch;
    const results = await Promise.allSettled(Array.from({ length: batch }, (_, i) => fn(first + i)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    ok += results.filter((r) => r.status === 'fulfilled').length;
    if (failed) return { ok, error: failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason)) };
  }
  return { ok };
}

export interface RateLimiterOptions {
  /** tokens per second; 0 or less: no limit */
  qps: number;
  /** bucket size: this many creations may go at once after a quiet period */
  burst: number;
  /** milliseconds clock (tests) */
  now?: () => number;
  /** timer (tests) */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A token bucket (client-go's flowcontrol.NewTokenBucketRateLimiter): holds up to `burst`
 * tokens, refilled at `qps` per second; wait() takes one, waiting in FIFO order when empty.
 * stop() releases every waiter (they then throw, so a stopping controller does not hang).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tail: Promise<void> = Promise.resolve();
  private stopped = false;
  /** creations that had to wait, and for how long in total (metrics, tests) */
  waited = 0;
  waitedMs = 0;

  constructor(readonly opts: RateLimiterOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.tokens = Math.max(1, opts.burst);
    this.last = this.now();
  }

  get unlimited(): boolean {
    return !(this.opts.qps > 0);
  }

  private refill(): void {
    const t = this.now();
    const burst = Math.max(1, this.opts.burst);
    this.tokens = Math.min(burst, this.tokens + ((t - this.last) / 1000) * this.opts.qps);
    this.last = t;
  }

  /** take a token now if one is there */
  tryTake(): boolean {
    if (this.unlimited) return true;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** wait for a token (FIFO); rejects once stop() was called */
  wait(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('rate limiter stopped'));
    if (this.unlimited) return Promise.resolve();
    const turn = this.tail.then(async () => {
      let waitedHere = 0;
      while (!this.tryTake()) {
        if (this.stopped) throw new Error('rate limiter stopped');
        const ms = Math.max(1, Math.ceil(((1 - this.tokens) / this.opts.qps) * 1000));
        waitedHere += ms;
        await this.sleep(ms);
      }
      if (this.stopped) throw new Error('rate limiter stopped');
      if (waitedHere > 0) {
        this.waited++;
        this.waitedMs += waitedHere;
      }
    });
    // the next waiter queues behind this one whether it got its token or not
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  stop(): void {
    this.stopped = true;
  }
}

export const DEFAULT_CONTROLLERS_QPS = 50;
export const DEFAULT_CONTROLLERS_BURST = 100;
