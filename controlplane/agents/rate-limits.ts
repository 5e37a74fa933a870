// Small rate limits for what one agent connection can make the server do: a token
// bucket (client-go's flowcontrol, as kubelet's --event-qps/--event-burst), and a log
// limiter that writes the first lines of each kind per window and then one count.
import type { Logger } from 'pino';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }

  /** take a token if there is one */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** 0 after taking a token; otherwise the ms until there is one (nothing taken) */
  delay(): number {
    if (this.take()) return 0;
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

type Level = 'warn' | 'error' | 'info';

/**
 * Per key (a kind of log line, e.g. 'rejected'): the first `perWindow` lines of each
 * window are logged, the rest only counted; the count is logged when the next line of
 * that kind comes after the window, or on flush (the connection closed).
 */
export class LogLimiter {
  private readonly kinds = new Map<
    string,
    { start: number; logged: number; suppressed: number; level: Level; msg: string }
  >();

  constructor(
    private readonly log: Logger,
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.write('warn', key, fields, msg);
  }
  error(key: string, fields: Record<string, unknown>, msg: string): void {
    this.write('error', key, fields, msg);
  }

  private write(level: Level, key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    let k = this.kinds.get(key);
    if (k && t - k.start >= this.windowMs) {
      this.summary(k, fields);
      k = undefined;
    }
    if (!k) {
      k = { start: t, logged: 0, suppressed: 0, level, msg };
      this.kinds.set(key, k);
    }
    if (k.logged < this.perWindow) {
      k.logged++;
      this.log[level](fields, msg);
    } else {
      k.suppressed++;
    }
  }

  private summary(k: { suppressed: number; level: Level; msg: string }, fields: Record<string, unknown>): void {
    if (k.suppressed > 0)
      this.log[k.level](
        { node: fields.node, suppressed: k.suppressed },
        `${k.msg} (${k.suppressed} more like it not logged)`,
      );
  }

  /** log the counts still pending */
  flush(fields: Record<string, unknown> = {}): void {
    for (const k of this.kinds.values()) this.summary(k, fields);
    this.kinds.clear();
  }
}
