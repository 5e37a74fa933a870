// Event garbage collection (kube-apiserver's --event-ttl, default 1h). Upstream every
// Event write carries an etcd lease of the TTL, so an Event disappears one TTL after it
// was last recorded; here a periodic sweep over the events informer deletes each Event
// whose last occurrence — lastTimestamp, else series.lastObservedTime or eventTime,
// else creationTimestamp — is older than the TTL. The delete carries the cached uid and
// resourceVersion as preconditions, so an Event bumped (count/lastTimestamp) since the
// cache saw it survives until a later sweep looks at it again.
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import type { ApiStorage } from '../api/storage.js';
import type { ControllerContext, DefOf } from './context.js';
import type { Informer } from './informer.js';
import type { Controller } from './types.js';

export const DEFAULT_EVENT_TTL_MS = 60 * 60_000;

export interface EventTtlOptions {
  /** how long an Event lives after its last occurrence (--event-ttl) */
  ttlMs: number;
  /** how often to sweep; default ttl/60, between 1 s and 1 min */
  sweepIntervalMs?: number;
}

/** When an Event last happened (ms since epoch), or undefined if it carries no usable time. */
export function lastOccurrence(ev: KubeObject): number | undefined {
  for (const t of [ev.lastTimestamp, ev.series?.lastObservedTime, ev.eventTime, ev.metadata?.creationTimestamp]) {
    if (typeof t !== 'string' || !t) continue;
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

export function isExpired(ev: KubeObject, ttlMs: number, nowMs: number): boolean {
  const at = lastOccurrence(ev);
  return at !== undefined && nowMs - at > ttlMs;
}

export interface EventTtlController extends Controller {
  /** delete every expired Event now; resolves to how many were deleted */
  sweep(): Promise<number>;
}

class EventTtl implements EventTtlController {
  readonly name = 'event-ttl-controller';
  private readonly def: DefOf<'', 'events'>;
  private readonly storage: ApiStorage;
  private inf!: Informer<'Event'>;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: EventTtlOptions,
  ) {
    this.def = ctx.def('', 'v1', 'events');
    this.storage = ctx.storage;
  }

  async start(): Promise<void> {
    this.inf = this.ctx.informers.get('', 'v1', 'events');
    const every = this.opts.sweepIntervalMs ?? Math.min(60_000, Math.max(1000, Math.floor(this.opts.ttlMs / 60)));
    this.timer = setInterval(() => {
      this.sweep().catch((err) => this.ctx.log.warn({ err }, 'event ttl sweep failed'));
    }, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  sweep(): Promise<number> {
    // one sweep at a time; a caller arriving during one waits for it
    this.sweeping ??= this.doSweep().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async doSweep(): Promise<number> {
    if (!this.inf?.synced) return 0;
    const now = this.ctx.now().getTime();
    let deleted = 0;
    for (const ev of this.inf.list()) {
      if (!isExpired(ev, this.opts.ttlMs, now)) continue;
      try {
        await this.storage.delete(this.def, ev.metadata.namespace, ev.metadata.name!, {
          gracePeriodSeconds: 0,
          preconditions: { uid: ev.metadata.uid, resourceVersion: ev.metadata.resourceVersion },
        });
        deleted++;
      } catch (e) {
        // gone already, or changed since the cache saw it (then the next sweep decides)
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
      }
    }
    if (deleted) this.ctx.log.debug({ deleted }, 'expired events deleted');
    return deleted;
  }
}

export function create(
  ctx: ControllerContext,
  opts: EventTtlOptions = { ttlMs: DEFAULT_EVENT_TTL_MS },
): EventTtlController {
  return new EventTtl(ctx, opts);
}
