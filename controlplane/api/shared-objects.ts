// One decoding of each stored object for every in-process reader that only reads it
// (kube-apiserver's watch cache hands the same object to every watcher; client-go's shared
// informers share one cache): a store event is decoded once, and the list cache, the
// informers, the scheduler and the write path's reads all hold that one object. Such an
// object is read-only: a writer takes its own copy (copyJson). Under the unit tests the
// shared objects are deep-frozen, so a reader that mutates one fails there, not in
// production with a corrupted cache.
import type { KubeObject } from '../../proto/meta.js';
import type { ResourceDef } from '../resources/types.js';
import type { StoreEvent } from '../store/types.js';

export interface SharedDecoding {
  obj: KubeObject;
  /** the previous object of an update (decoded when first asked for: most readers never do) */
  readonly prev?: KubeObject;
}

/** a store event decoded once per kind for all the readers it reaches */
const decodings = new WeakMap<StoreEvent, Map<ResourceDef, SharedDecoding>>();

/** deep-freeze shared objects (the unit tests: a mutation throws where it happens) */
const FREEZE = !!process.env.VITEST || process.env.SKIFF_FREEZE_SHARED === '1';

function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  Object.freeze(v);
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  return v;
}

/** a stored value as the store's reader sees it: resourceVersion from the revision, a custom resource's storage form undone */
export function decodeStored(def: ResourceDef, value: string, modRevision: number): KubeObject {
  const obj = JSON.parse(value) as KubeObject;
  obj.metadata.resourceVersion = String(modRevision);
  def.custom?.fromStorage(obj);
  return obj;
}

/** mark an object shared (read-only from now on) */
export function share<T>(obj: T): T {
  return FREEZE ? deepFreeze(obj) : obj;
}

/**
 * The event's new object (and for an update, the previous one), decoded once for every
 * in-process reader of the kind: read-only.
 */
export function sharedDecoding(def: ResourceDef, ev: StoreEvent): SharedDecoding {
  let byDef = decodings.get(ev);
  if (!byDef) decodings.set(ev, (byDef = new Map()));
  let d = byDef.get(def);
  if (!d) {
    const obj = share(decodeStored(def, ev.value, ev.modRevision));
    const prevValue = ev.type !== 'DELETE' ? ev.prevValue : undefined;
    let prev: KubeObject | undefined;
    byDef.set(
      def,
      (d = {
        obj,
        get prev() {
          if (prev === undefined && prevValue !== undefined) {
            prev = JSON.parse(prevValue) as KubeObject;
            def.custom?.fromStorage(prev);
            share(prev);
          }
          return prev;
        },
      }),
    );
  }
  return d;
}

/**
 * A deep copy of JSON data (what JSON.parse(JSON.stringify(v)) gives for it, without
 * building the string): plain objects, arrays, strings, numbers, booleans, null.
 * Object keys whose value is undefined are left out, as JSON would.
 */
export function copyJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const a: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      a[i] = x === undefined ? null : copyJson(x);
    }
    return a as T;
  }
  const o: Record<string, unknown> = {};
  const src = v as Record<string, unknown>;
  for (const k in src) {
    const x = src[k];
    if (x === undefined) continue;
    if (k === '__proto__')
      Object.defineProperty(o, k, { value: copyJson(x), enumerable: true, writable: true, configurable: true });
    else o[k] = copyJson(x);
  }
  return o as T;
}
