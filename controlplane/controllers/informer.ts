// A watch-fed cache of one resource (client-go's informer): list, then watch from the
// list's resourceVersion; handlers get add/update/delete. Level-triggered controllers
// read from the cache and only use the handlers to enqueue keys.
import type { Logger } from 'pino';
import type { Kind } from '../../proto/api/object.js';
import type { KubeObject } from '../../proto/meta.js';
import type { ResourceDef } from '../resources/types.js';
import { ApiError } from '../api/errors.js';
import type { WorkQueue } from './work-queue.js';
import type { ApiStorage } from '../api/storage.js';

/** add/update/delete handlers of an informer of kind K ('*': untyped) */
export interface Handlers<K extends Kind | '*' = '*'> {
  add?(obj: KubeObject<K>): void;
  update?(oldObj: KubeObject<K>, newObj: KubeObject<K>): void;
  delete?(obj: KubeObject<K>): void;
}

export function keyOf(o: { metadata: { namespace?: string; name?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** `Informer<'Pod'>` caches stored Pods (KubeObject<'Pod'>); `Informer` any kind, untyped */
export class Informer<K extends Kind | '*' = '*'> {
  private cache = new Map<string, KubeObject<K>>();
  private handlers: Handlers<K>[] = [];
  private watch?: { cancel(): void };
  private stopped = false;
  synced = false;

  constructor(
    private readonly storage: ApiStorage,
    readonly def: ResourceDef,
    private readonly log?: Logger,
  ) {}

  on(h: Handlers<K>): this {
    this.handlers.push(h);
    return this;
  }

  get(namespace: string | undefined, name: string): KubeObject<K> | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): KubeObject<K>[] {
    const out: KubeObject<K>[] = [];
    for (const o of this.cache.values()) if (namespace === undefined || o.metadata.namespace === namespace) out.push(o);
    return out;
  }

  private emit(kind: 'add' | 'update' | 'delete', a: KubeObject<K>, b?: KubeObject<K>): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.add?.(a);
        else if (kind === 'update') h.update?.(a, b!);
        else h.delete?.(a);
      } catch (err) {
        this.log?.error({ err, resource: this.def.resource }, 'informer handler failed');
      }
    }
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    // the list cache's shared objects when it has the kind: a relist decodes nothing (read-only, as the cache is)
    const list = await this.storage.list(this.def, undefined, { shared: true });
    const seen = new Set<string>();
    for (const item of list.items) {
      // a stored object of this def's kind (the store keeps neither apiVersion nor kind)
      const o = {
        apiVersion: this.def.group ? `${this.def.group}/${this.def.version}` : this.def.version,
        kind: this.def.kind,
        ...item,
      } as KubeObject<K>;
      const k = keyOf(o);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, o);
      if (!old) this.emit('add', o);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit('update', old, o);
    }
    for (const [k, o] of this.cache)
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.emit('delete', o);
      }
    this.synced = true;
    try {
      // the event's object is the one decoding shared by every in-process reader: read-only, as an informer's cache is
      this.watch = await this.storage.watch(
        this.def,
        undefined,
        { resourceVersion: list.metadata.resourceVersion, shared: true },
        (ev) => {
          if (ev.type === 'ERROR') {
            void this.restart();
            return;
          }
          if (ev.type === 'BOOKMARK') return;
          const o = ev.object as KubeObject<K>;
          const k = keyOf(o);
          if (ev.type === 'DELETED') {
            const old = this.cache.get(k);
            this.cache.delete(k);
            this.emit('delete', old ?? o);
          } else {
            const old = this.cache.get(k);
            this.cache.set(k, o);
            if (old) this.emit('update', old, o);
            else this.emit('add', o);
          }
        },
      );
      if (this.stopped) this.watch.cancel();
    } catch (e) {
      if (e instanceof ApiError && e.code === 410) return this.restart();
      throw e;
    }
  }

  private async restart(): Promise<void> {
    this.watch?.cancel();
    if (!this.stopped) await this.start();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
  }
}

/**
 * client-go's WaitForCacheSync: resolves true once every informer has listed, false if
 * `stopped()` turns true first. Controllers must not act on a half-listed cache.
 */
export async function waitForSync(informers: readonly { synced: boolean }[], stopped: () => boolean): Promise<boolean> {
  while (!stopped() && !informers.every((i) => i.synced)) await new Promise((r) => setTimeout(r, 20));
  return !stopped();
}

/**
 * client-go's controller Run: once every informer has listed, run `workers` workers on the
 * queue (then `onSynced`), and every `resyncMs` enqueue `resync()`'s keys again (the
 * periodic resync that repairs what a lost event would leave behind). stop() ends both;
 * the queue itself is the controller's to stop.
 */
export function runWhenSynced<K>(o: {
  informers: readonly { synced: boolean }[];
  queue: WorkQueue;
  workers: number;
  sync: (key: string) => Promise<void>;
  onError: (key: string, err: unknown) => void;
  resyncMs: number;
  resync: () => Iterable<K>;
  enqueue: (item: K) => void;
  onSynced?: () => void;
}): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  void (async () => {
    if (!(await waitForSync(o.informers, () => stopped))) return;
    o.queue.run(o.sync, o.workers, o.onError);
    o.onSynced?.();
    timer = setInterval(() => {
      for (const x of o.resync()) o.enqueue(x);
    }, o.resyncMs);
    timer.unref();
  })();
  return {
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
