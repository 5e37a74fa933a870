// The one write path into the store, shared by REST handlers, controllers, the
// scheduler and the agent gateway (DESIGN.md: no back-door writes). It does what
// kube-apiserver's generic registry does: defaulting, validation, namespace
// lifecycle, resourceVersion preconditions, generation, status/main separation,
// graceful deletion with finalizers, filtered lists with paging, and watches.
// Map of the code base: ARCHITECTURE.md, "Rules of the house" (the one write path).
import { randomUUID, randomInt } from 'node:crypto';
import type { KubeObject, ObjectOfDef, Status } from '../../proto/meta.js';
import { clone } from '../../proto/canonical.js';
import {
  parseLabelSelector,
  parseFieldSelector,
  matchLabels,
  matchFields,
  fieldsUsed,
  SelectorError,
} from '../../proto/selectors.js';
import type { AdmissionContext, AllocationContext, ClusterNetwork, ResourceDef } from '../resources/types.js';
import { findResource } from '../resources/index.js';
import { isRecord } from '../resources/meta-validation.js';
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  StaleRevisionError,
  type KV,
  type Store,
  type StoreEvent,
  type WatchTrigger,
} from '../store/types.js';
import {
  ApiError,
  STALE_OBJECT,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  gone,
  internal,
  invalid,
  notFound,
  field,
} from './errors.js';
import { apiVersionOf, keyFor, prefixFor } from './keys.js';
import { checkBody, type FieldValidation } from './field-validation.js';
import { applyPatch, type PatchType } from './patch/apply.js';
import { mutatingAdmission, validatingAdmission } from '../quota/admission.js';
import { podSecurityAdmission } from '../admission/pod-security/hook.js';
import { SYSTEM_PRIORITY_CLASSES } from '../resources/priority-class.js';
import { ManagedFieldsTracker } from './managed-fields/tracker.js';
import { sameIgnoringTimes } from './managed-fields/managers.js';
import { sameValue } from './same-value.js';
import { rfc3339 } from '../../proto/api/time.js';
import { copyJson, decodeStored, sharedDecoding } from './shared-objects.js';
/** re-exported: most of the control plane imports it from here */
export { rfc3339 };

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  fieldManager?: string;
  /** the request's User-Agent: without fieldManager, its prefix up to the first '/' names the manager */
  userAgent?: string;
  /** server-side apply: take the fields other managers own (force=true) */
  force?: boolean;
  /** the subresource a write of the main object came through (scale), for managedFields */
  managedSubresource?: string;
  /** @internal server-side apply creating the object: the applied configuration */
  applyConfig?: unknown;
  /** @internal server-side apply: the managedFields the apply computed */
  applied?: AppliedManagedFields;
  /** warnings for the client (Warning: 299 headers) are appended here */
  warnings?: string[];
  /** admission plugins' audit annotations (pod-security.kubernetes.io/…) are set here, for the request's audit event */
  auditAnnotations?: Record<string, string>;
}

export interface AppliedManagedFields {
  entries?: unknown[];
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /**
   * in-process readers that only read the items (informers): from the list cache, the
   * objects it shares with every in-process reader, never to be mutated (else copies)
   */
  shared?: boolean;
}

export interface WatchQuery {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  /**
   * In-process watchers that only read what they get (informers, the scheduler, the REST
   * watch's encoder): each event's object is the one decoding shared by all of them
   * (api/shared-objects.ts), never to be mutated. Otherwise every watcher gets its own copy.
   */
  shared?: boolean;
}

export interface WatchEvent<O = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: O | Status;
}

export interface ListResult<O = KubeObject> {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: O[];
}

export interface DeleteResult<O = KubeObject> {
  object: O;
  /** false when the object stays (graceful deletion, finalizers): HTTP 202 */
  deleted: boolean;
}

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** the latest instant a JS Date holds */
const MAX_DATE_MS = 8.64e15;

/**
 * A resourceVersion query parameter: unset, "" or a decimal revision (the store's
 * revisions are integers below 2^53). Anything else is a 400 before any work starts.
 */
export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^[0-9]+$/.test(rv))
    throw badRequest(
      `resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`,
    );
  const n = Number(rv);
  if (!Number.isSafeInteger(n))
    throw badRequest(
      `resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: value out of range`,
    );
  return n;
}
const MAX_RETRIES = 8;

/**
 * NamespaceLifecycle's immortal namespaces: never deleted through the API. Upstream lists
 * default, kube-system and kube-public and lets a controller recreate kube-node-lease; skiff
 * protects kube-node-lease too (agents' Leases live there; nothing would recreate it).
 */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return s;
}

interface Filter {
  labels: ReturnType<typeof parseLabelSelector>;
  fields: ReturnType<typeof parseFieldSelector>;
}

export interface ContinueToken {
  rv: number;
  start: string;
}

export const DEFAULT_CLUSTER_NETWORK: ClusterNetwork = {
  serviceCidr: '10.43.0.0/16',
  nodePortRange: { min: 30000, max: 32767 },
};

/** Tails of the per-store, per-kind chains that serialise writes of kinds with an allocate hook. */
const allocationLocks = new WeakMap<Store, Map<string, Promise<void>>>();

export class ApiStorage {
  private namespaceDef: ResourceDef;
  /** metadata.managedFields of every write (controlplane/api/managed-fields/) */
  private readonly managed: ManagedFieldsTracker;
  /** the field manager of in-process writes that name none (see withFieldManager) */
  protected defaultFieldManager = 'kube-controller-manager';

  constructor(
    public readonly store: Store,
    private readonly now: () => Date = () => new Date(),
    private readonly opts: { network?: ClusterNetwork } = {},
  ) {
    const ns = findResource('', 'v1', 'namespaces');
    if (!ns) throw new Error('namespaces resource missing');
    this.namespaceDef = ns;
    this.managed = new ManagedFieldsTracker(() => rfc3339(this.now()));
  }

  /**
   * This storage for an in-process writer: writes that name no fieldManager are recorded
   * under `manager` (kube-apiserver takes the prefix of the writer's User-Agent, e.g.
   * kube-scheduler, kubelet). A view sharing everything else.
   */
  withFieldManager(manager: string): ApiStorage {
    const view = Object.create(this) as ApiStorage;
    view.defaultFieldManager = manager;
    return view;
  }

  /**
   * ValidateFieldManager on the request's options (CreateOptions, UpdateOptions,
   * PatchOptions): at most 128 bytes, printable characters only.
   */
  private checkFieldManager(opts: WriteOptions, kind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'): void {
    const m = opts.fieldManager;
    if (!m) return;
    const causes = [];
    if (Buffer.byteLength(m) > 128) causes.push(field.tooLong('fieldManager', m, 128));
    let pos = 0;
    for (const ch of m) {
      if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
        const u = 'U+' + ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        causes.push(field.invalid('fieldManager', m, `invalid character ${u} (at position ${pos})`));
      }
      pos += Buffer.byteLength(ch);
    }
    if (causes.length) throw invalid(kind, '', causes, 'meta.k8s.io');
  }

  /** managerOrUserAgent: the fieldManager, else the User-Agent's prefix, else the in-process default */
  private managerOf(opts: WriteOptions): string {
    if (opts.fieldManager) return opts.fieldManager;
    if (opts.userAgent !== undefined) return prefixFromUserAgent(opts.userAgent);
    return this.defaultFieldManager;
  }

  // ---------- reads ----------

  decode(def: ResourceDef, kv: KV): KubeObject {
    return decodeStored(def, kv.value, kv.modRevision); // a custom resource read through another version
  }

  /**
   * The stored object at key and its revision, read-only: from the list cache's shared
   * objects when it holds the kind and is current (a store whose watches are delivered
   * synchronously on commit: the cache is the store's state whenever this code runs),
   * else read and decoded from the store. null: there is no such object.
   */
  private async readShared(def: ResourceDef, key: string): Promise<{ obj: KubeObject; rev: number } | null> {
    const c = this.listCache?.peek?.(def, key);
    if (c !== undefined) return c;
    const kv = await this.store.get(key);
    return kv ? { obj: this.decode(def, kv), rev: kv.modRevision } : null;
  }

  get<D extends ResourceDef>(def: D, namespace: string | undefined, name: string): Promise<ObjectOfDef<D>>;
  async get(def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject> {
    const o = await this.tryGet(def, namespace, name);
    if (!o) throw notFound(def.resource, name, def.group);
    return o;
  }

  tryGet<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
  ): Promise<ObjectOfDef<D> | undefined>;
  async tryGet(def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const key = keyFor(def, namespace, name);
    const c = this.listCache?.peek?.(def, key);
    if (c !== undefined) return c ? copyJson(c.obj) : undefined;
    const kv = await this.store.get(key);
    return kv ? this.decode(def, kv) : undefined;
  }

  /**
   * tryGet for a reader that only reads (the agent gateway's heartbeat, admission checks):
   * the object may be the one shared by every in-process reader. Never mutate it.
   */
  peek<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
  ): Promise<Readonly<ObjectOfDef<D>> | undefined>;
  async peek(def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    return (await this.readShared(def, keyFor(def, namespace, name)))?.obj;
  }

  parseFilter(def: ResourceDef, labelSelector?: string, fieldSelector?: string): Filter {
    try {
      const labels = labelSelector ? parseLabelSelector(labelSelector) : [];
      const fields = fieldSelector ? parseFieldSelector(fieldSelector) : [];
      for (const f of fieldsUsed(fields)) {
        if (f !== 'metadata.name' && f !== 'metadata.namespace' && !def.fields?.[f]) {
          throw badRequest(`field label not supported: ${f}`);
        }
      }
      return { labels, fields };
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message);
      throw e;
    }
  }

  matches(def: ResourceDef, obj: KubeObject, f: Filter): boolean {
    if (f.labels.length && !matchLabels(f.labels, obj.metadata.labels)) return false;
    if (f.fields.length) {
      const get = (name: string): string | undefined => {
        if (name === 'metadata.name') return obj.metadata.name;
        if (name === 'metadata.namespace') return obj.metadata.namespace ?? '';
        return def.fields?.[name]?.(obj);
      };
      if (!matchFields(f.fields, get)) return false;
    }
    return true;
  }

  /** lists answered from memory when set (api/list-cache.ts; the API server sets it) */
  listCache?: {
    listObjects(def: ResourceDef, namespace: string | undefined, q: ListQuery): Promise<ListResult | undefined>;
    /** a current cached object (read-only) and its revision, null when the cache knows there is none, undefined when it cannot answer */
    peek?(def: ResourceDef, key: string): { obj: KubeObject; rev: number } | null | undefined;
  };

  list<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    q?: ListQuery,
  ): Promise<ListResult<ObjectOfDef<D>>>;
  async list(def: ResourceDef, namespace: string | undefined, q: ListQuery = {}): Promise<ListResult> {
    const cached = await this.listCache?.listObjects(def, namespace, q);
    if (cached) return cached;
    const filter = this.parseFilter(def, q.labelSelector, q.fieldSelector);
    const filtering = filter.labels.length > 0 || filter.fields.length > 0;
    // a limit past any count the store can hold is no limit (the store takes 32-bit limits)
    const limit = q.limit && q.limit > 0 && q.limit < 2 ** 31 ? q.limit : 0;
    let revision: number | undefined;
    let start = '';
    if (q.continue) {
      const tok = decodeContinue(q.continue);
      revision = tok.rv;
      start = tok.start;
    }
    const prefix = prefixFor(def, namespace);
    const items: KubeObject[] = [];
    let more = false;
    let lastKey = start;
    let listRev = 0;
    try {
      for (;;) {
        const page = await this.store.list(prefix, {
          limit: limit ? Math.max(limit - items.length, filtering ? 100 : 0) : 0,
          startAfter: start,
          revision,
        });
        listRev = page.revision;
        revision ??= page.revision;
        let i = 0;
        for (; i < page.items.length; i++) {
          const kv = page.items[i]!;
          const obj = this.decode(def, kv);
          lastKey = kv.key;
          if (filtering && !this.matches(def, obj, filter)) continue;
          items.push(stripTypeMeta(obj));
          if (limit && items.length >= limit) {
            i++;
            break;
          }
        }
        const leftInPage = i < page.items.length;
        if (limit && items.length >= limit) {
          more = leftInPage || page.more;
          break;
        }
        if (!page.more) break;
        start = page.items[page.items.length - 1]!.key;
      }
    } catch (e) {
      if (e instanceof CompactedError) {
        throw gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      throw e;
    }
    const out: ListResult = {
      kind: `${def.kind}List`,
      apiVersion: apiVersionOf(def),
      metadata: { resourceVersion: String(q.continue ? revision : listRev) },
      items,
    };
    if (more) out.metadata.continue = encodeContinue({ rv: revision ?? listRev, start: lastKey });
    return out;
  }

  // ---------- create ----------

  create<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    body: unknown,
    opts?: WriteOptions,
  ): Promise<ObjectOfDef<D>>;
  async create(
    def: ResourceDef,
    namespace: string | undefined,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    if (opts.applyConfig === undefined) this.checkFieldManager(opts, 'CreateOptions');
    const obj = this.decodeBody(def, body, opts);
    this.checkNamespaceMatch(def, obj, namespace);
    if (def.namespaced) {
      obj.metadata.namespace = namespace;
      await this.checkNamespaceWritable(namespace!);
    } else {
      delete obj.metadata.namespace;
    }
    const meta = obj.metadata;
    const generated = !meta.name && !!meta.generateName;
    return this.serialised(def, async () => {
      for (let attempt = 0; ; attempt++) {
        if (generated) meta.name = meta.generateName + randomSuffix();
        if (!meta.name) {
          throw invalid(def.kind, '', [field.required('metadata.name', 'name or generateName is required')], def.group);
        }
        const prepared = await this.prepareCreate(def, clone(obj), opts);
        if (opts.dryRun) {
          if (await this.tryGet(def, namespace, prepared.metadata.name!))
            throw alreadyExists(def.resource, prepared.metadata.name!, def.group);
          return prepared;
        }
        try {
          const kv = await this.store.create(keyFor(def, namespace, prepared.metadata.name!), JSON.stringify(prepared));
          return this.decode(def, kv);
        } catch (e) {
          if (e instanceof KeyExistsError) {
            if (generated && attempt < 3) continue;
            throw alreadyExists(def.resource, prepared.metadata.name!, def.group);
          }
          throw e;
        }
      }
    });
  }

  /**
   * Runs fn alone among the writes of a kind that allocates (ResourceDef.allocate), so the
   * listing an allocation is computed from stays true until the write has landed.
   */
  private serialised<T>(def: ResourceDef, fn: () => Promise<T>): Promise<T> {
    if (!def.allocate) return fn();
    let locks = allocationLocks.get(this.store);
    if (!locks) allocationLocks.set(this.store, (locks = new Map()));
    const key = prefixFor(def, undefined);
    const run = (locks.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  }

  private allocationContext(def: ResourceDef, opts: WriteOptions): AllocationContext {
    return {
      list: async () => (await this.store.list(prefixFor(def, undefined))).items.map((kv) => this.decode(def, kv)),
      network: this.opts.network ?? DEFAULT_CLUSTER_NETWORK,
      dryRun: !!opts.dryRun,
    };
  }

  private admissionContext(opts: WriteOptions): AdmissionContext {
    return {
      list: async (group, version, plural) => {
        const d = findResource(group, version, plural);
        if (!d) throw new Error(`no resource ${group}/${version}/${plural}`);
        return (await this.store.list(prefixFor(d, undefined))).items.map((kv) => this.decode(d, kv));
      },
      dryRun: !!opts.dryRun,
    };
  }

  private async prepareCreate(def: ResourceDef, obj: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const meta = obj.metadata;
    const sentManagedFields = meta.managedFields;
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(this.now());
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    delete meta.selfLink;
    if (def.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    if (def.hasStatusSubresource && def.kind !== 'Node') delete obj.status;
    def.prepareForCreate?.(obj);
    def.defaults?.(obj);
    const managedFields = this.managed.onCreate(def, obj, sentManagedFields, this.managerOf(opts), opts);
    if (def.allocate) await def.allocate(obj, undefined, this.allocationContext(def, opts));
    if (def.admit) await def.admit(obj, this.admissionContext(opts));
    await mutatingAdmission(this, def, obj); // LimitRanger defaults
    const causes = def.validate(obj);
    if (causes.length) throw invalid(def.kind, meta.name ?? '', causes, def.group);
    await podSecurityAdmission(this, def, obj, undefined, opts); // PodSecurity (when installed)
    await validatingAdmission(this, def, obj, undefined, opts); // LimitRanger, ResourceQuota
    if (managedFields) meta.managedFields = managedFields;
    return obj;
  }

  // ---------- update ----------

  /**
   * PUT semantics. `subresource` 'status' changes only status; otherwise status is kept
   * from the stored object (for kinds with a status subresource).
   */
  update<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts?: WriteOptions,
    subresource?: 'status',
  ): Promise<ObjectOfDef<D>>;
  async update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
    subresource?: 'status',
  ): Promise<KubeObject> {
    this.checkFieldManager(opts, 'UpdateOptions');
    const obj = this.decodeBody(def, body, opts);
    this.checkNamespaceMatch(def, obj, namespace);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    const precondition = obj.metadata.resourceVersion || undefined;
    return this.guaranteedUpdate(
      def,
      namespace,
      name,
      opts,
      (cur) => {
        if (precondition && precondition !== cur.metadata.resourceVersion)
          throw conflict(def.resource, name, STALE_OBJECT, def.group);
        return clone(obj);
      },
      subresource,
      precondition !== undefined,
    );
  }

  /**
   * Read-modify-write with CAS and retry (apiserver's GuaranteedUpdate). `mutate` gets the
   * current object and returns the desired one (it may throw ApiError).
   */
  guaranteedUpdate<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
    opts: WriteOptions,
    mutate: (cur: ObjectOfDef<D>) => KubeObject,
    subresource?: 'status' | 'binding',
    pinned?: boolean,
  ): Promise<ObjectOfDef<D>>;
  async guaranteedUpdate(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: WriteOptions,
    mutate: (cur: KubeObject) => KubeObject,
    subresource?: 'status' | 'binding',
    pinned = false,
  ): Promise<KubeObject> {
    if (subresource) return this.guaranteedUpdateOnce(def, namespace, name, opts, mutate, subresource, pinned);
    return this.serialised(def, () =>
      this.guaranteedUpdateOnce(def, namespace, name, opts, mutate, subresource, pinned),
    );
  }

  private async guaranteedUpdateOnce(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: WriteOptions,
    mutate: (cur: KubeObject) => KubeObject,
    subresource: 'status' | 'binding' | undefined,
    pinned: boolean,
  ): Promise<KubeObject> {
    const key = keyFor(def, namespace, name);
    for (let attempt = 0; ; attempt++) {
      // cur is read-only (possibly the object every in-process reader shares): mutate gets a copy
      const read = await this.readShared(def, key);
      if (!read) throw notFound(def.resource, name, def.group);
      const { obj: cur, rev } = read;
      const desired = mutate(copyJson(cur));
      const next = await this.prepareUpdate(def, cur, desired, opts, subresource);
      if (unchanged(next, cur)) return copyJson(cur); // no-op writes keep the resourceVersion, as apiserver does
      if (opts.dryRun) return next;
      try {
        if (isFinalized(next)) {
          const del = await this.store.delete(key, rev);
          const out = clone(next);
          out.metadata.resourceVersion = String(del.modRevision);
          return out;
        }
        const written = await this.store.update(key, JSON.stringify(withoutRv(next)), rev);
        return this.decode(def, written);
      } catch (e) {
        if (e instanceof StaleRevisionError && !pinned && attempt < MAX_RETRIES) continue;
        if (e instanceof StaleRevisionError) throw conflict(def.resource, name, STALE_OBJECT, def.group);
        if (e instanceof KeyNotFoundError) throw notFound(def.resource, name, def.group);
        throw e;
      }
    }
  }

  private async prepareUpdate(
    def: ResourceDef,
    cur: KubeObject,
    desired: KubeObject,
    opts: WriteOptions,
    subresource?: 'status' | 'binding',
  ): Promise<KubeObject> {
    let next: KubeObject;
    if (subresource === 'binding') {
      next = desired; // the binding subresource sets spec.nodeName and the PodScheduled condition together
    } else if (subresource === 'status') {
      // everything but the status from cur (copied without the status it replaces)
      const { status: _replaced, ...rest } = cur;
      next = copyJson(rest as KubeObject);
      next.status = desired.status;
    } else {
      next = desired;
      if (def.hasStatusSubresource) {
        if (cur.status === undefined) delete next.status;
        else next.status = copyJson(cur.status);
      }
    }
    next.apiVersion = apiVersionOf(def);
    next.kind = def.kind;
    // Fields the server owns never change through an update.
    const m = (next.metadata ??= {});
    const c = cur.metadata;
    const sentManagedFields = m.managedFields;
    m.name = c.name;
    if (def.namespaced) m.namespace = c.namespace;
    else delete m.namespace;
    m.uid = c.uid;
    m.creationTimestamp = c.creationTimestamp;
    m.resourceVersion = c.resourceVersion;
    delete m.managedFields;
    delete m.selfLink;
    if (c.generateName !== undefined && m.generateName === undefined) m.generateName = c.generateName;
    if (c.deletionTimestamp) {
      m.deletionTimestamp = c.deletionTimestamp;
      m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
      // Kubernetes forbids adding finalizers to an object being deleted.
      const added = (m.finalizers ?? []).filter((f) => !(c.finalizers ?? []).includes(f));
      if (added.length)
        throw invalid(
          def.kind,
          c.name!,
          [
            field.forbidden(
              'metadata.finalizers',
              `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            ),
          ],
          def.group,
        );
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    if (def.hasGeneration) {
      m.generation = c.generation ?? 1;
      def.defaults?.(next);
      if (!sameValue(specOf(next), specOf(cur))) m.generation = (c.generation ?? 1) + 1;
    } else {
      delete m.generation;
      def.defaults?.(next);
    }
    if (m.finalizers && m.finalizers.length === 0) delete m.finalizers;
    const managedFields = this.managed.onUpdate(
      def,
      cur,
      next,
      sentManagedFields,
      this.managerOf(opts),
      opts,
      subresource,
    );
    if (def.prepareForUpdate && !subresource) def.prepareForUpdate(next, cur);
    if (def.allocate && !subresource) await def.allocate(next, cur, this.allocationContext(def, opts));
    const causes =
      subresource === 'status' && def.validateStatus
        ? def.validateStatus(next, cur)
        : subresource === 'binding'
          ? def.validate(next)
          : def.validate(next, cur);
    if (causes.length) throw invalid(def.kind, c.name!, causes, def.group);
    if (def.admitUpdate && !subresource) await def.admitUpdate(next, cur, this.admissionContext(opts));
    if (!subresource) await podSecurityAdmission(this, def, next, cur, opts);
    if (!subresource) await validatingAdmission(this, def, next, cur, opts);
    if (managedFields) m.managedFields = managedFields;
    return next;
  }

  // ---------- patch ----------

  patch<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: unknown,
    opts?: WriteOptions,
    subresource?: 'status',
  ): Promise<{ object: ObjectOfDef<D>; created: boolean }>;
  async patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: unknown,
    opts: WriteOptions = {},
    subresource?: 'status',
  ): Promise<{ object: KubeObject; created: boolean }> {
    this.checkFieldManager(opts, 'PatchOptions');
    if (type === 'apply') {
      const existing = await this.tryGet(def, namespace, name);
      if (!existing) {
        if (subresource) throw notFound(def.resource, name, def.group);
        const body = isRecord(patchBody) ? (structuredClone(patchBody) as KubeObject) : patchBody;
        if (isRecord(body)) {
          (body as KubeObject).metadata ??= {};
          if ((body as KubeObject).metadata.name && (body as KubeObject).metadata.name !== name) {
            throw badRequest(
              `the name of the object (${(body as KubeObject).metadata.name}) does not match the name on the URL (${name})`,
            );
          }
          (body as KubeObject).metadata.name = name;
        }
        try {
          return {
            object: await this.create(def, namespace, body, { ...opts, applyConfig: patchBody }),
            created: true,
          };
        } catch (e) {
          if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
          // raced with a create: fall through to the merge below
        }
      }
    }
    const applied: AppliedManagedFields = {};
    const wopts = type === 'apply' ? { ...opts, applied } : opts;
    const object = await this.guaranteedUpdate(
      def,
      namespace,
      name,
      wopts,
      (cur) => {
        const patched = applyPatch(type, cur, patchBody, def);
        if (!isRecord(patched) || !isRecord((patched as KubeObject).metadata))
          throw badRequest('patch produced an object without metadata');
        const p = patched as KubeObject;
        // A resourceVersion set by the patch is a precondition (apiserver semantics).
        if (p.metadata.resourceVersion && p.metadata.resourceVersion !== cur.metadata.resourceVersion) {
          throw conflict(def.resource, name, STALE_OBJECT, def.group);
        }
        if (p.metadata.name !== undefined && p.metadata.name !== name)
          throw badRequest(`the name of the object (${p.metadata.name}) does not match the name on the URL (${name})`);
        checkBody(def, p, opts);
        if (type !== 'apply') return p;
        // server-side apply: ownership, pruning of fields no longer applied, conflicts (409)
        const r = this.managed.onApply(def, cur, patchBody, p, this.managerOf(opts), opts, subresource);
        applied.entries = r.entries;
        return r.object;
      },
      subresource,
    );
    return { object, created: false };
  }

  // ---------- delete ----------

  delete<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
    opts?: DeleteOptions,
  ): Promise<DeleteResult<ObjectOfDef<D>>>;
  async delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<DeleteResult> {
    // NamespaceLifecycle admission: the system namespaces are immortal
    if (def.kind === 'Namespace' && IMMORTAL_NAMESPACES.has(name)) {
      throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, def.resource, name);
    }
    // the PriorityClass REST's Delete: the system classes stay
    if (
      def.kind === 'PriorityClass' &&
      def.group === 'scheduling.k8s.io' &&
      SYSTEM_PRIORITY_CLASSES.some((c) => c.name === name)
    ) {
      throw new ApiError(
        403,
        'Forbidden',
        `priorityclasses.scheduling.k8s.io "${name}" is forbidden: this is a system priority class and cannot be deleted`,
        { name, group: def.group, kind: def.resource },
      );
    }
    const key = keyFor(def, namespace, name);
    for (let attempt = 0; ; attempt++) {
      // cur is read-only (possibly the object every in-process reader shares)
      const read = await this.readShared(def, key);
      if (!read) throw notFound(def.resource, name, def.group);
      const { obj: cur, rev } = read;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cur.metadata.uid) {
        throw conflict(
          def.resource,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`,
          def.group,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
        throw conflict(
          def.resource,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${cur.metadata.resourceVersion}`,
          def.group,
        );
      }
      const next = copyJson(cur);
      const m = next.metadata;
      const finalizers = new Set(m.finalizers ?? []);
      if (!m.deletionTimestamp) for (const f of def.deleteFinalizers ?? []) finalizers.add(f);
      if (opts.propagationPolicy === 'Orphan') {
        finalizers.add('orphan');
        finalizers.delete('foregroundDeletion');
      } else if (opts.propagationPolicy === 'Foreground') {
        finalizers.add('foregroundDeletion');
        finalizers.delete('orphan');
      } else if (opts.propagationPolicy === 'Background') {
        finalizers.delete('orphan');
        finalizers.delete('foregroundDeletion');
      }
      if (def.kind === 'Namespace' && (cur.spec?.finalizers?.length ?? 0) > 0) finalizers.add('__spec');
      const grace = this.gracePeriod(def, cur, opts);
      const stays = finalizers.size > 0 || grace > 0;
      finalizers.delete('__spec');
      if (!stays) {
        if (opts.dryRun) return { object: copyJson(cur), deleted: true };
        try {
          const del = await this.store.delete(key, rev);
          const out = this.decode(def, del);
          return { object: out, deleted: true };
        } catch (e) {
          if (e instanceof StaleRevisionError && attempt < MAX_RETRIES) continue;
          if (e instanceof KeyNotFoundError) throw notFound(def.resource, name, def.group);
          throw e;
        }
      }
      // Graceful deletion / finalizers: mark the object, it goes when its owner confirms.
      const nowMs = this.now().getTime();
      // a Date ends at +8.64e15 ms: a longer grace period ends there
      const until = (g: number) => rfc3339(new Date(Math.min(nowMs + g * 1000, MAX_DATE_MS)));
      if (!m.deletionTimestamp) {
        m.deletionTimestamp = until(grace);
        m.deletionGracePeriodSeconds = grace;
      } else if (grace < (m.deletionGracePeriodSeconds ?? 0)) {
        m.deletionTimestamp = until(grace);
        m.deletionGracePeriodSeconds = grace;
      }
      if (finalizers.size) m.finalizers = [...finalizers];
      else delete m.finalizers;
      if (def.kind === 'Namespace') next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      if (opts.dryRun) return { object: next, deleted: false };
      if (sameStored(next, cur)) return { object: copyJson(cur), deleted: false };
      try {
        if (isFinalized(next)) {
          const del = await this.store.delete(key, rev);
          return { object: this.decode(def, del), deleted: true };
        }
        const written = await this.store.update(key, JSON.stringify(withoutRv(next)), rev);
        return { object: this.decode(def, written), deleted: false };
      } catch (e) {
        if (e instanceof StaleRevisionError && attempt < MAX_RETRIES) continue;
        if (e instanceof KeyNotFoundError) throw notFound(def.resource, name, def.group);
        throw e;
      }
    }
  }

  /** kubelet-confirmed deletion applies only to pods bound to a node and not finished. */
  private gracePeriod(def: ResourceDef, cur: KubeObject, opts: DeleteOptions): number {
    if (def.kind !== 'Pod') return 0;
    if (!cur.spec?.nodeName) return 0;
    const phase = cur.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    const g = opts.gracePeriodSeconds ?? cur.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, g);
  }

  async deleteCollection(
    def: ResourceDef,
    namespace: string | undefined,
    q: ListQuery,
    opts: DeleteOptions = {},
  ): Promise<ListResult> {
    const list = await this.list(def, namespace, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
    const out: KubeObject[] = [];
    for (const item of list.items) {
      try {
        const r = await this.delete(def, item.metadata.namespace, item.metadata.name!, opts);
        out.push(r.object);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return { ...list, items: out };
  }

  // ---------- watch ----------

  /**
   * Stream changes as Kubernetes watch events. resourceVersion unset or "0" first sends
   * the current matching objects as ADDED. Throws ApiError 410 for compacted revisions.
   */
  watch<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    q: WatchQuery,
    sink: (ev: WatchEvent<ObjectOfDef<D>>) => void,
  ): Promise<{ cancel(): void }>;
  async watch(
    def: ResourceDef,
    namespace: string | undefined,
    q: WatchQuery,
    sink: (ev: WatchEvent) => void,
  ): Promise<{ cancel(): void }> {
    const filter = this.parseFilter(def, q.labelSelector, q.fieldSelector);
    const prefix = prefixFor(def, namespace);
    let from: number;
    if (!q.resourceVersion || q.resourceVersion === '0') {
      const list = await this.store.list(prefix);
      for (const kv of list.items) {
        const obj = this.decode(def, kv);
        if (this.matches(def, obj, filter)) sink({ type: 'ADDED', object: obj });
      }
      from = list.revision;
    } else {
      from = parseResourceVersion(q.resourceVersion)!;
    }
    const shared = !!q.shared;
    const handle = (events: StoreEvent[]) => {
      for (const ev of events) {
        const out = this.toWatchEvent(def, ev, filter, shared);
        if (out) sink(out);
      }
    };
    try {
      // a value the store cannot turn back into an object (e.g. an undecryptable Secret)
      // ends the watch with an ERROR event, as kube-apiserver's watch cache does
      const w = await this.store.watch(
        prefix,
        from,
        handle,
        (err) => {
          const e = err instanceof ApiError ? err : internal(err.message);
          sink({ type: 'ERROR', object: e.toStatus() });
        },
        this.triggerFor(def, filter),
      );
      return w;
    } catch (e) {
      if (e instanceof CompactedError) throw gone(`too old resource version: ${from} (${e.compacted})`);
      throw e;
    }
  }

  private toWatchEvent(def: ResourceDef, ev: StoreEvent, filter: Filter, shared: boolean): WatchEvent | undefined {
    const filtering = filter.labels.length > 0 || filter.fields.length > 0;
    const object = () => (shared ? sharedDecoding(def, ev).obj : this.decodeEvent(def, ev));
    if (!filtering)
      return {
        type: ev.type === 'DELETE' ? 'DELETED' : ev.prevValue === undefined ? 'ADDED' : 'MODIFIED',
        object: object(),
      };
    // a filtered watcher (each agent's pods, spec.nodeName=X) matches against the event
    // decoded once for every watcher of it; only one that matches decodes its own copy
    const { now, before } = this.matchedEvent(def, ev, filter);
    if (ev.type === 'DELETE') return now ? { type: 'DELETED', object: object() } : undefined;
    if (now && before) return { type: 'MODIFIED', object: object() };
    if (now) return { type: 'ADDED', object: object() };
    if (before) return { type: 'DELETED', object: object() };
    return undefined;
  }

  /** the event's object as a watcher receives it: its own copy */
  private decodeEvent(def: ResourceDef, ev: StoreEvent): KubeObject {
    return decodeStored(def, ev.value, ev.modRevision);
  }

  /** whether the event's new and previous objects match a filter, read from one shared, read-only decoding per event */
  private matchedEvent(def: ResourceDef, ev: StoreEvent, filter: Filter): { now: boolean; before: boolean } {
    const d = sharedDecoding(def, ev);
    return { now: this.matches(def, d.obj, filter), before: d.prev !== undefined && this.matches(def, d.prev, filter) };
  }

  /**
   * A watch whose field selector requires field=value (each agent's spec.nodeName=X) is
   * indexed by that value in the store (kube-apiserver's cacher indexes pod watchers by
   * spec.nodeName): an event reaches it only when its new or previous object has the value,
   * so a pod write costs one look-up, not a call per agent. One valuesOf per kind and field.
   */
  private triggerFor(def: ResourceDef, filter: Filter): WatchTrigger | undefined {
    const req = filter.fields.find((r) => r.operator === '=' && def.fields?.[r.field]);
    if (!req) return undefined;
    const id = `${def.group}/${def.resource}/${req.field}`;
    let valuesOf = this.triggerFns.get(id);
    if (!valuesOf) {
      const f = def.fields![req.field]!;
      valuesOf = (ev: StoreEvent) => {
        const d = sharedDecoding(def, ev);
        const now = f(d.obj) ?? '';
        return d.prev ? [now, f(d.prev) ?? ''] : [now];
      };
      this.triggerFns.set(id, valuesOf);
    }
    return { value: req.value, valuesOf };
  }
  private readonly triggerFns = new Map<string, WatchTrigger['valuesOf']>();

  // ---------- helpers ----------

  /** parse and check a request body: kind/apiVersion, metadata, unknown fields */
  private decodeBody(def: ResourceDef, body: unknown, opts: WriteOptions): KubeObject {
    if (!isRecord(body))
      throw badRequest(`Object '${def.kind}' is missing in '${JSON.stringify(body)?.slice(0, 100)}'`);
    // structuredClone, not a JSON round trip: that would turn 1e400 (Infinity) into null
    // before checkBody could refuse it
    const obj = structuredClone(body) as KubeObject;
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${obj.kind}: the object kind "${obj.kind}" does not match the expected kind "${def.kind}"`,
      );
    }
    const want = apiVersionOf(def);
    if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`,
      );
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isRecord(obj.metadata)) throw badRequest('metadata must be an object');
    checkBody(def, obj, opts);
    obj.apiVersion = want;
    obj.kind = def.kind;
    return obj;
  }

  private checkNamespaceMatch(def: ResourceDef, obj: KubeObject, namespace: string | undefined): void {
    if (!def.namespaced) return;
    const ns = obj.metadata.namespace;
    if (ns && ns !== namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }

  /** NamespaceLifecycle admission: the namespace must exist and not be terminating. */
  private async checkNamespaceWritable(namespace: string): Promise<void> {
    const ns = await this.peek(this.namespaceDef, undefined, namespace);
    if (!ns) throw notFound('namespaces', namespace);
    if (ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') {
      throw forbidden(`unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }
}

function specOf(o: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

function withoutRv(o: KubeObject): KubeObject {
  const c = { ...o, metadata: { ...o.metadata } };
  delete c.metadata.resourceVersion;
  return c;
}

function sameStored(a: KubeObject, b: KubeObject): boolean {
  return sameValue(withoutRv(a), withoutRv(b));
}

/** no change, or one only in managedFields' times (IgnoreManagedFieldsTimestampsTransformer) */
function unchanged(next: KubeObject, cur: KubeObject): boolean {
  if (sameStored(next, cur)) return true;
  const b = cur.metadata.managedFields;
  if (!sameIgnoringTimes(next.metadata.managedFields, b)) return false;
  return sameStored({ ...next, metadata: { ...next.metadata, managedFields: b } }, cur);
}

/** an object being deleted whose finalizers are all gone and whose grace period is over */
function isFinalized(o: KubeObject): boolean {
  const m = o.metadata;
  if (!m.deletionTimestamp || (m.finalizers?.length ?? 0) > 0) return false;
  if (o.kind === 'Namespace' && (o.spec?.finalizers?.length ?? 0) > 0) return false;
  return (m.deletionGracePeriodSeconds ?? 0) === 0;
}

function stripTypeMeta(o: KubeObject): KubeObject {
  delete o.apiVersion;
  delete o.kind;
  return o;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { rv?: unknown; start?: unknown };
    if (typeof t.rv === 'number' && typeof t.start === 'string') return { rv: t.rv, start: t.start };
  } catch {
    /* fall through */
  }
  throw badRequest('continue key is not valid: illegal base64 data or json');
}

/**
 * fieldmanager's prefixFromUserAgent: the User-Agent up to its first '/', printable
 * characters only, at most 128 bytes (whole characters) — a client's header never makes
 * an oversized or unprintable manager name.
 */
export function prefixFromUserAgent(ua: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of ua.split('/')[0]!) {
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > 128) break;
    out += ch;
    bytes += n;
  }
  return out;
}
