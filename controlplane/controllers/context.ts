// What controllers share: the one API write path, shared informers (one watch per
// resource for all controllers), an event recorder and a logger.
import type { Logger } from 'pino';
import type { Kind } from '../../proto/api/object.js';
import type { KindOf } from '../../proto/meta.js';
import type { ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';
import { recordEvent, type EventInput } from '../events.js';
import { Informer } from './informer.js';
import { TokenBucket } from './slow-start.js';

export class InformerFactory {
  private informers = new Map<string, Informer<Kind | '*'>>();
  private started = false;

  constructor(
    private readonly storage: ApiStorage,
    private readonly log: Logger,
  ) {}

  /** the shared informer for group/version/plural; register handlers before startAll() */
  get<G extends string, P extends string>(group: G, version: string, plural: P): Informer<KindOf<G, P>> {
    const key = `${group}/${version}/${plural}`;
    let inf = this.informers.get(key) as Informer<KindOf<G, P>> | undefined;
    if (!inf) {
      const def = findResource(group, version, plural);
      if (!def) throw new Error(`no resource ${key}`);
      inf = new Informer<KindOf<G, P>>(this.storage, def, this.log);
      this.informers.set(key, inf);
      if (this.started) void inf.start();
    }
    return inf;
  }

  async startAll(): Promise<void> {
    this.started = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stopAll(): void {
    for (const i of this.informers.values()) i.stop();
  }
}

/**
 * The definition of group G's resource P, its `kind` the literal kind when P has a generated
 * interface: the storage's reads and writes through it return `KubeObject<kind>`.
 */
export type DefOf<G extends string, P extends string> =
  KindOf<G, P> extends Kind ? ResourceDef & { readonly kind: KindOf<G, P> } : ResourceDef;

/** the definition of group/version/plural, typed by kind (throws if unknown) */
export function resourceDef<G extends string, P extends string>(group: G, version: string, plural: P): DefOf<G, P> {
  const d = findResource(group, version, plural);
  if (!d) throw new Error(`no resource ${group}/${version}/${plural}`);
  return d as DefOf<G, P>;
}

export interface ControllerContext {
  storage: ApiStorage;
  informers: InformerFactory;
  log: Logger;
  /** a resource definition by group/version/plural (throws if unknown) */
  def<G extends string, P extends string>(group: G, version: string, plural: P): DefOf<G, P>;
  event(e: Omit<EventInput, 'source'> & { component: string }): Promise<void>;
  now(): Date;
  /**
   * One token per object a controller creates (pods of ReplicaSets, Jobs, DaemonSets,
   * StatefulSets; Jobs of CronJobs), shared by all controllers: --controllers-qps/-burst.
   */
  createLimiter: TokenBucket;
}

export interface ControllerContextOptions {
  /** creations per second for all controllers together; 0: unlimited (the default here; skiff-server passes its flags) */
  createQps?: number;
  createBurst?: number;
}

export function controllerContext(
  storage: ApiStorage,
  log: Logger,
  now: () => Date = () => new Date(),
  opts: ControllerContextOptions = {},
): ControllerContext {
  return {
    storage,
    createLimiter: new TokenBucket({ qps: opts.createQps ?? 0, burst: opts.createBurst ?? 1 }),
    informers: new InformerFactory(storage, log),
    log,
    def: resourceDef,
    async event(e) {
      const { component, ...rest } = e;
      try {
        await recordEvent(storage, { ...rest, source: { component } });
      } catch (err) {
        log.warn({ err, reason: e.reason }, 'cannot record event');
      }
    },
    now,
  };
}
