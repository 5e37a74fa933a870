// The admission plugins' listers: per store, a watch-fed cache of one kind's objects by
// namespace (ResourceQuotas, LimitRanges), so the write path does not list the store on
// every create. The store delivers a write's event before the write returns, so a quota
// or LimitRange is seen by the next request. Started on first use; a broken watch is
// re-listed on the next use.
import type { KubeObject } from '../../proto/meta.js';
import { prefixFor } from '../api/keys.js';
import type { ResourceDef } from '../resources/types.js';
import type { Store, StoreEvent, Watch } from '../store/types.js';

export class NamespaceCache {
  private byNs = new Map<string, Map<string, KubeObject>>();
  private ready?: Promise<void>;
  private watch?: Watch;

  constructor(
    private readonly store: Store,
    private readonly def: ResourceDef,
  ) {}

  /** the kind's objects in a namespace, as last seen (never mutate them) */
  async inNamespace(ns: string): Promise<KubeObject[]> {
    await this.start();
    const m = this.byNs.get(ns);
    return m ? [...m.values()] : [];
  }

  private start(): Promise<void> {
    this.ready ??= this.load().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async load(): Promise<void> {
    const prefix = prefixFor(this.def, undefined);
    const page = await this.store.list(prefix);
    this.byNs.clear();
    for (const kv of page.items) this.put(kv.key, kv.value, kv.modRevision);
    this.watch = await this.store.watch(
      prefix,
      page.revision,
      (events) => this.apply(events),
      () => {
        this.watch = undefined;
        this.ready = undefined;
      },
    );
  }

  private apply(events: StoreEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'PUT') this.put(ev.key, ev.value, ev.modRevision);
      else this.remove(ev.key);
    }
  }

  private split(key: string): [string, string] {
    const rest = key.slice(prefixFor(this.def, undefined).length);
    const i = rest.indexOf('/');
    return [rest.slice(0, i), rest.slice(i + 1)];
  }

  private put(key: string, value: string, rev: number): void {
    const [ns, name] = this.split(key);
    const obj = JSON.parse(value) as KubeObject;
    obj.metadata.resourceVersion = String(rev);
    let m = this.byNs.get(ns);
    if (!m) this.byNs.set(ns, (m = new Map()));
    m.set(name, obj);
  }

  private remove(key: string): void {
    const [ns, name] = this.split(key);
    const m = this.byNs.get(ns);
    m?.delete(name);
    if (m && m.size === 0) this.byNs.delete(ns);
  }

  stop(): void {
    this.watch?.cancel();
  }
}

const caches = new WeakMap<Store, Map<string, NamespaceCache>>();

/** the shared cache of `def` over `store` */
export function namespaceCache(store: Store, def: ResourceDef): NamespaceCache {
  let m = caches.get(store);
  if (!m) caches.set(store, (m = new Map()));
  const key = `${def.group}/${def.resource}`;
  let c = m.get(key);
  if (!c) m.set(key, (c = new NamespaceCache(store, def)));
  return c;
}
