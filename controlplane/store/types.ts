// The Store contract the API layer builds on: a revisioned key/value log in the
// manner of kine/etcd. Every write gets the next global revision; updates are
// compare-and-swap on the key's last revision; watch replays from a revision, then
// streams live. Backends: sqlite.ts (default, embedded) and, later, etcd.
// Map of the code base: ARCHITECTURE.md, "The store".

export interface KV {
  key: string;
  value: string; // the object as JSON, without metadata.resourceVersion
  modRevision: number; // revision of the last write: the object's resourceVersion
  createRevision: number;
}

export interface StoreEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  /** new value for PUT; the value at deletion for DELETE */
  value: string;
  /** value before this event (undefined for a create) */
  prevValue?: string;
  modRevision: number;
  createRevision: number;
}

export interface ListOptions {
  /** return at most this many keys (0/undefined = all) */
  limit?: number;
  /** continue after this key (exclusive) */
  startAfter?: string;
  /** read the state as of this revision (for paging); must be >= the compacted revision */
  revision?: number;
}

export interface ListResult {
  items: KV[];
  /** the revision this list reflects */
  revision: number;
  /** true when limit cut the list */
  more: boolean;
}

/** key already exists (create) */
export class KeyExistsError extends Error {
  constructor(public key: string) {
    super(`key exists: ${key}`);
  }
}
/** key missing (update/delete) */
export class KeyNotFoundError extends Error {
  constructor(public key: string) {
    super(`key not found: ${key}`);
  }
}
/** compare-and-swap failed: the key's revision is not the expected one */
export class StaleRevisionError extends Error {
  constructor(
    public key: string,
    public current: number,
  ) {
    super(`stale revision for ${key}`);
  }
}
/** the revision asked for has been compacted away */
export class CompactedError extends Error {
  constructor(
    public requested: number,
    public compacted: number,
    public current: number,
  ) {
    super(`revision ${requested} compacted (compact revision ${compacted})`);
  }
}

export type WatchCallback = (events: StoreEvent[]) => void;

/**
 * A watcher that wants only events whose valuesOf includes value (the API layer's
 * spec.nodeName=X pod watches): a store may skip the others without calling the watcher
 * (the SQLite store's broadcaster indexes them). Only a hint: the watcher still filters
 * what it gets, and a store may ignore it. valuesOf is one function per index.
 */
export interface WatchTrigger {
  value: string;
  valuesOf(ev: StoreEvent): readonly string[] | undefined;
}

export interface Watch {
  cancel(): void;
}

export interface Store {
  /**
   * Every committed write's events have reached every live watch callback whenever other
   * code runs (the SQLite store publishes synchronously on commit): a cache kept by a watch
   * is then current at any await (api/list-cache.ts).
   */
  readonly syncWatch?: boolean;
  get(key: string): Promise<KV | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  create(key: string, value: string): Promise<KV>;
  /** CAS on expectedRevision (the key's modRevision); throws StaleRevisionError / KeyNotFoundError */
  update(key: string, value: string, expectedRevision: number): Promise<KV>;
  /** delete; with expectedRevision a CAS. Returns the deleted KV with the deletion's revision as modRevision. */
  delete(key: string, expectedRevision?: number): Promise<KV>;
  /**
   * Deliver every change under prefix with revision > fromRevision, then live changes, in order.
   * Throws CompactedError when fromRevision is below the compacted revision.
   * `onError` is called if the watch breaks (backend failure); the watch is then cancelled.
   */
  watch(
    prefix: string,
    fromRevision: number,
    cb: WatchCallback,
    onError?: (err: Error) => void,
    trigger?: WatchTrigger,
  ): Promise<Watch>;
  currentRevision(): Promise<number>;
  compactedRevision(): Promise<number>;
  /** drop history up to and including revision (latest values survive) */
  compact(revision: number): Promise<number>;
  /** bytes used, for metrics */
  size(): Promise<number>;
  close(): Promise<void>;
}
