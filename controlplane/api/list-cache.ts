// The watch cache for lists (kube-apiserver's cacher, staging/src/k8s.io/apiserver/pkg/
// storage/cacher): a resource listed over REST is kept in memory from then on — one
// store list, then the store's watch keeps it current — and a plain JSON list is answered
// from it without reading or decoding the store. Each object's list-item JSON is encoded
// once after each change and kept, so a list is a concatenation of those strings rather than
// a JSON.stringify of a 10 MB body.
//
// resourceVersion semantics, as Kubernetes 1.31+ (cacher's shouldDelegateList with
// ConsistentListFromCache): unset is a consistent read — served from the cache once it has
// seen the store's current revision (a store whose watches are delivered synchronously on
// commit, the embedded SQLite one, always has; a cache behind etcd must have seen the
// latest revision itself, else the store answers); "0" is any cached state; N needs a
// cache at N or later, else the store answers (as it did before the cache). A continue
// token, resourceVersionMatch, or limit with an exact N are answered by the store, as
// upstream delegates them. Tables, metadata-only lists, converted versions and custom
// resources take the store path too. The cache holds only current objects (no history
// window): memory is what the store itself holds for the listed kinds; Events are never
// cached (their volume comes and goes with the event TTL).
import type { KubeObject } from '../../proto/meta.js';
import { matchFields, matchLabels } from '../../proto/selectors.js';
import type { ResourceDef } from '../resources/types.js';
import type { Store, StoreEvent, Watch } from '../store/types.js';
import { apiVersionOf, prefixFor } from './keys.js';
import { encodeContinue, parseResourceVersion, type ApiStorage, type ListResult } from './storage.js';
import { wantsMetadataOnly, wantsTable } from './table.js';
import { decodeStored, share, sharedDecoding } from './shared-objects.js';

/**
 * one object: the stored value until something reads it, then the object decoded once and
 * shared read-only with every in-process reader (api/shared-objects.ts), and once a list
 * needs it its encoded list item
 */
interface Entry {
  rev: number;
  raw?: string;
  obj?: KubeObject;
  json?: string;
  labels?: Record<string, string>;
  /** values of metadata.name, metadata.namespace, then def.fields in their order */
  fields?: (string | undefined)[];
}

export interface CachedListQuery {
  /** listObjects: the cache's shared objects themselves (read-only), not copies */
  shared?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

/** a list's query parameters (the last value of each) */
export function listQuery(
  q: Record<string, string | string[] | undefined>,
  limit: number | undefined,
): CachedListQuery {
  const one = (k: string): string | undefined => {
    const v = q[k];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  return {
    labelSelector: one('labelSelector'),
    fieldSelector: one('fieldSelector'),
    continue: one('continue'),
    resourceVersion: one('resourceVersion'),
    resourceVersionMatch: one('resourceVersionMatch'),
    limit,
  };
}

/** first index in sorted a whose value is >= s */
function lowerBound(a: readonly string[], s: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** the cache of one resource (all namespaces): its objects by key, the keys in store order */
export class ResourceCache {
  readonly entries = new Map<string, Entry>();
  /** sorted as the store lists them (byte order of ASCII keys) */
  keys: string[] = [];
  /** the revision of the last change seen (or of the initial list) */
  rev = 0;
  broken = false;
  private watch?: Watch;

  constructor(
    private readonly store: Store,
    readonly def: ResourceDef,
  ) {}

  async start(): Promise<void> {
    const prefix = prefixFor(this.def, undefined);
    for (let attempt = 0; ; attempt++) {
      const l = await this.store.list(prefix);
      this.entries.clear();
      for (const kv of l.items) this.entries.set(kv.key, { rev: kv.modRevision, raw: kv.value });
      this.keys = [...this.entries.keys()].sort();
      this.rev = l.revision;
      try {
        this.watch = await this.store.watch(
          prefix,
          l.revision,
          (evs) => this.apply(evs),
          () => {
            this.broken = true;
          },
        );
        break;
      } catch (e) {
        // compacted between the list and the watch: list again
        if (attempt >= 3) throw e;
      }
    }
    // the watch's replay of what was written between the list and the watch is delivered
    await new Promise((r) => setImmediate(r));
  }

  apply(evs: StoreEvent[]): void {
    for (const ev of evs) {
      if (ev.type === 'PUT') {
        if (!this.entries.has(ev.key)) this.keys.splice(lowerBound(this.keys, ev.key), 0, ev.key);
        // the event's one decoding, which the informers and the scheduler receive too
        this.entries.set(ev.key, { rev: ev.modRevision, obj: sharedDecoding(this.def, ev).obj });
      } else if (this.entries.delete(ev.key)) {
        const i = lowerBound(this.keys, ev.key);
        if (this.keys[i] === ev.key) this.keys.splice(i, 1);
      }
      if (ev.modRevision > this.rev) this.rev = ev.modRevision;
    }
  }

  /** the entry's object, decoded once: read-only, shared */
  object(e: Entry): KubeObject {
    if (!e.obj) {
      e.obj = share(decodeStored(this.def, e.raw!, e.rev));
      e.raw = undefined;
    }
    return e.obj;
  }

  /** the entry's list item JSON (as ApiStorage.list's items serialise), encoded once per change */
  encoded(e: Entry): Entry & { json: string } {
    if (e.json !== undefined) return e as Entry & { json: string };
    const obj = this.object(e);
    const { apiVersion: _a, kind: _k, ...item } = obj;
    e.json = JSON.stringify(item);
    e.labels = obj.metadata.labels;
    const fields = [obj.metadata.name, obj.metadata.namespace ?? ''];
    for (const f of Object.values(this.def.fields ?? {})) fields.push(f(obj));
    e.fields = fields;
    return e as Entry & { json: string };
  }

  close(): void {
    this.watch?.cancel();
    this.broken = true;
  }
}

export interface ListCacheOptions {
  /** instead of the store's own Store.syncWatch (tests) */
  syncWatch?: boolean;
}

export class ListCache {
  private readonly caches = new Map<string, Promise<ResourceCache | undefined>>();
  /** the caches that have started, by the same id */
  private readonly ready = new Map<string, ResourceCache>();
  private readonly syncWatch: boolean;
  /** lists answered here / by the store (metrics, tests) */
  readonly stats = { cached: 0, delegated: 0 };

  constructor(
    private readonly storage: ApiStorage,
    opts: ListCacheOptions = {},
  ) {
    this.syncWatch = opts.syncWatch ?? storage.store.syncWatch ?? false;
  }

  private get store(): Store {
    return this.storage.store;
  }

  /** kinds the cache answers for: built-in, not Events */
  static cacheable(def: ResourceDef): boolean {
    return !def.custom && def.resource !== 'events';
  }

  private cacheFor(def: ResourceDef): Promise<ResourceCache | undefined> {
    const id = `${def.group}/${def.resource}`;
    let p = this.caches.get(id);
    if (p)
      return p.then((c) => {
        if (c && !c.broken) return c;
        // the watch broke (a backend failure): start again
        if (this.caches.get(id) === p) this.caches.delete(id);
        return this.cacheFor(def);
      });
    const c = new ResourceCache(this.store, def);
    p = c.start().then(
      () => {
        this.ready.set(id, c);
        return c;
      },
      () => {
        this.caches.delete(id);
        return undefined;
      },
    );
    this.caches.set(id, p);
    return p;
  }

  /**
   * The object at key as the store holds it now, read-only (ApiStorage's reads on the write
   * path): only from a cache the kind already has, behind a store whose watches are
   * delivered synchronously on commit (then the cache is the store's current state whenever
   * other code runs). null: no such object; undefined: the store must answer.
   */
  peek(def: ResourceDef, key: string): { obj: KubeObject; rev: number } | null | undefined {
    if (!this.syncWatch) return undefined;
    const c = this.ready.get(`${def.group}/${def.resource}`);
    if (!c || c.broken || c.def !== def) return undefined;
    const e = c.entries.get(key);
    return e ? { obj: c.object(e), rev: e.rev } : null;
  }

  /**
   * The JSON body of a list answered from the cache, or undefined when the store must answer
   * (see the top of this file). Bad selectors and resourceVersions throw the Status errors the
   * store path throws.
   */
  async listJson(
    def: ResourceDef,
    namespace: string | undefined,
    q: CachedListQuery = {},
    accept?: string,
  ): Promise<string | undefined> {
    const p = await this.plan(def, namespace, q, accept);
    if (!p) return undefined;
    const { items, metadata } = this.select(p.c, def, namespace, p.filter, p.limit, p.at, (e) => p.c.encoded(e).json);
    return `{"kind":${JSON.stringify(`${def.kind}List`)},"apiVersion":${JSON.stringify(apiVersionOf(def))},"metadata":${JSON.stringify(metadata)},"items":[${items.join(',')}]}`;
  }

  /**
   * ApiStorage.list's answer from the cache (its hook for in-process lists: an agent that
   * connects lists its node's pods, a controller its informer's kind), or undefined when
   * the store must answer. Only the matching items are decoded, each a fresh copy.
   */
  async listObjects(
    def: ResourceDef,
    namespace: string | undefined,
    q: CachedListQuery = {},
  ): Promise<ListResult | undefined> {
    const p = await this.plan(def, namespace, q);
    if (!p) return undefined;
    // shared: the objects every in-process reader holds (an informer's relist costs no decoding)
    const item = q.shared ? (e: Entry) => p.c.object(e) : (e: Entry) => JSON.parse(p.c.encoded(e).json) as KubeObject;
    const { items, metadata } = this.select(p.c, def, namespace, p.filter, p.limit, p.at, item);
    return { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata, items };
  }

  private async plan(
    def: ResourceDef,
    namespace: string | undefined,
    q: CachedListQuery,
    accept?: string,
  ): Promise<
    { c: ResourceCache; filter: ReturnType<ApiStorage['parseFilter']>; limit: number; at: number } | undefined
  > {
    const rv = parseResourceVersion(q.resourceVersion);
    const limit = q.limit && q.limit > 0 && q.limit < 2 ** 31 ? q.limit : 0;
    if (
      !ListCache.cacheable(def) ||
      wantsTable(accept) ||
      wantsMetadataOnly(accept) ||
      q.continue ||
      q.resourceVersionMatch ||
      (rv && limit)
    ) {
      this.stats.delegated++;
      return undefined;
    }
    const filter = this.storage.parseFilter(def, q.labelSelector, q.fieldSelector);
    const c = await this.cacheFor(def);
    if (!c) {
      this.stats.delegated++;
      return undefined;
    }
    // the store's revision, read before the cache is looked at: the cache must have reached it
    const current = rv === 0 && !this.syncWatch ? 0 : await this.store.currentRevision();
    if (c.broken) {
      this.stats.delegated++;
      return undefined;
    }
    let at: number;
    if (this.syncWatch) at = Math.max(current, c.rev);
    else if (rv === 0 || c.rev >= current) at = c.rev;
    else {
      this.stats.delegated++;
      return undefined;
    }
    if (rv !== undefined && at < rv) {
      this.stats.delegated++;
      return undefined;
    }
    this.stats.cached++;
    return { c, filter, limit, at };
  }

  /** the list's items (encoded) and metadata at revision at: synchronous, so it is one state of the cache */
  private select<T>(
    c: ResourceCache,
    def: ResourceDef,
    namespace: string | undefined,
    filter: ReturnType<ApiStorage['parseFilter']>,
    limit: number,
    at: number,
    item: (e: Entry) => T,
  ): { items: T[]; metadata: ListResult['metadata'] } {
    const prefix = prefixFor(def, namespace);
    const filtering = filter.labels.length > 0 || filter.fields.length > 0;
    const names = filter.fields.length ? ['metadata.name', 'metadata.namespace', ...Object.keys(def.fields ?? {})] : [];
    const keys = c.keys;
    const items: T[] = [];
    let i = lowerBound(keys, prefix);
    let lastKey = '';
    let more = false;
    for (; i < keys.length && keys[i]!.startsWith(prefix); i++) {
      const key = keys[i]!;
      const e = c.entries.get(key)!;
      lastKey = key;
      if (filtering) {
        c.encoded(e); // its labels and field values
        if (filter.labels.length && !matchLabels(filter.labels, e.labels)) continue;
        if (filter.fields.length && !matchFields(filter.fields, (f) => e.fields![names.indexOf(f)])) continue;
      }
      items.push(item(e));
      if (limit && items.length >= limit) {
        more = i + 1 < keys.length && keys[i + 1]!.startsWith(prefix);
        break;
      }
    }
    const metadata: { resourceVersion: string; continue?: string } = { resourceVersion: String(at) };
    if (more) metadata.continue = encodeContinue({ rv: at, start: lastKey });
    return { items, metadata };
  }

  close(): void {
    for (const p of this.caches.values()) void p.then((c) => c?.close());
    this.caches.clear();
    this.ready.clear();
  }
}
