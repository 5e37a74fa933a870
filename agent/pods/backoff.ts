// Restart back-off exactly as kubelet's flowcontrol.Backoff is used in doBackOff: the
// first restart is immediate; after that a container that exited less than `delay`
// ago waits (CrashLoopBackOff), the delay doubling from 10 s to 5 min with every
// restart; an exit more than 10 min after the last restart starts over. Image pulls use
// the same delays counted from the last failed pull (ImagePullBackOff).
// Time is injected: tests do not sleep.

export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;

interface Entry {
  delayMs: number;
  lastUpdate: number;
}

export class BackOff {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly initialMs = INITIAL_BACKOFF_MS,
    private readonly maxMs = MAX_BACKOFF_MS,
  ) {}

  private expired(e: Entry, eventMs: number): boolean {
    return eventMs - e.lastUpdate > 2 * this.maxMs;
  }

  /** kubelet IsInBackOffSince: still waiting after the exit at finishedAtMs? */
  inBackOff(key: string, finishedAtMs: number, nowMs: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(e, finishedAtMs)) return false;
    return nowMs - finishedAtMs < e.delayMs;
  }

  /** kubelet IsInBackOffSinceUpdate (image pulls): still waiting since the last failure? */
  inBackOffSinceUpdate(key: string, nowMs: number): boolean {
    return this.remainingSinceUpdateMs(key, nowMs) > 0;
  }

  /** ms left of the wait since the last failure (0 when a retry may happen now) */
  remainingSinceUpdateMs(key: string, nowMs: number): number {
    const e = this.entries.get(key);
    if (!e || this.expired(e, nowMs)) return 0;
    return Math.max(0, e.lastUpdate + e.delayMs - nowMs);
  }

  /** ms left to wait (0 when a restart may happen now) */
  remainingMs(key: string, finishedAtMs: number, nowMs: number): number {
    const e = this.entries.get(key);
    if (!e || this.expired(e, finishedAtMs)) return 0;
    return Math.max(0, finishedAtMs + e.delayMs - nowMs);
  }

  /** kubelet Next: a restart happens now; the following one waits twice as long */
  next(key: string, nowMs: number): void {
    const e = this.entries.get(key);
    if (!e || this.expired(e, nowMs)) this.entries.set(key, { delayMs: this.initialMs, lastUpdate: nowMs });
    else {
      e.delayMs = Math.min(e.delayMs * 2, this.maxMs);
      e.lastUpdate = nowMs;
    }
  }

  delayMs(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
