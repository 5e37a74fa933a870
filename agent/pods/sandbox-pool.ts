// The node's pool of ready sandboxes (--sandbox-pool N): pause containers started on the
// pod network ahead of their pods, so that a pod that may adopt one (sandbox-pool-plan.ts)
// starts with its containers only. Kept full in the background, one sandbox at a time. On
// start the pool removes what an earlier agent left unadopted (it may have been half given
// to a pod) and makes new ones; on stop it leaves them (the next start replaces them).
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/types.js';

export interface SandboxPoolOptions {
  runtime: Runtime;
  node: string;
  size: number;
  pauseImage: string;
  network?: string;
  log: Logger;
  /** why the pod network is not ready yet (nothing is made until it is), undefined once it is */
  networkNotReady?: () => string | undefined;
  /** wait after a failure or while the network is not ready (default 2 s) */
  retryMs?: number;
}

export class SandboxPool {
  private readonly ready: string[] = [];
  private filling = false;
  private started = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: SandboxPoolOptions) {}

  /** how many ready sandboxes the pool holds now */
  get available(): number {
    return this.ready.length;
  }

  start(): void {
    if (!this.o.runtime.createPooledSandbox || this.o.size <= 0) return;
    void this.reconcile().finally(() => {
      this.started = true;
      this.fill();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** a ready sandbox's id for a pod to adopt (it is the caller's from now on), then refill */
  take(): string | undefined {
    const id = this.ready.shift();
    this.fill();
    return id;
  }

  private async reconcile(): Promise<void> {
    try {
      const stale = (await this.o.runtime.listPooledSandboxes?.(this.o.node)) ?? [];
      for (const s of stale) await this.o.runtime.removeContainer(s.id).catch(() => undefined);
      if (stale.length) this.o.log.info({ removed: stale.length }, 'removed pooled sandboxes an earlier agent left');
    } catch (err) {
      this.o.log.warn({ err }, 'listing pooled sandboxes failed');
    }
  }

  private fill(): void {
    if (!this.started || this.filling || this.stopped) return;
    this.filling = true;
    void (async () => {
      let retry = false;
      try {
        while (!this.stopped && this.ready.length < this.o.size) {
          if (this.o.networkNotReady?.()) {
            retry = true;
            break;
          }
          const sb = await this.o.runtime.createPooledSandbox!({
            node: this.o.node,
            pauseImage: this.o.pauseImage,
            network: this.o.network,
          });
          if (this.stopped) break;
          this.ready.push(sb.id);
        }
      } catch (err) {
        this.o.log.warn({ err }, 'making a pooled sandbox failed');
        retry = true;
      } finally {
        this.filling = false;
      }
      if (retry && !this.stopped) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.fill(), this.o.retryMs ?? 2000);
        this.timer.unref();
      }
    })();
  }
}
