// The REST view of a kind served in more than one version (autoscaling/v1 and v2
// HorizontalPodAutoscalers): requests for a version with `ResourceDef.conversion` reach
// the one write path (storage.ts) through the storage version's definition, bodies
// converted to the storage form first and every object converted back on the way out,
// as kube-apiserver's codecs do around its storage. Patches apply to the object as the
// requested version shows it. Other kinds pass straight through.
import type { KubeObject, ObjectOfDef } from '../../proto/meta.js';
import { checkDecode, goDecodeError } from '../../proto/schema/check-fields.js';
import type { ResourceDef, VersionConversion } from '../resources/types.js';
import { badRequest, conflict, STALE_OBJECT } from './errors.js';
import { apiVersionOf } from './keys.js';
import { applyPatch, type PatchType } from './patch/apply.js';
import {
  ApiStorage,
  type DeleteOptions,
  type DeleteResult,
  type ListQuery,
  type ListResult,
  type WatchEvent,
  type WatchQuery,
  type WriteOptions,
} from './storage.js';

const views = new WeakMap<ApiStorage, ConvertedStorage>();

/** the storage REST handlers use for `def`: a converting view for other served versions */
export function storageFor(storage: ApiStorage, def: ResourceDef): ApiStorage {
  if (!def.conversion) return storage;
  let v = views.get(storage);
  if (!v) views.set(storage, (v = new ConvertedStorage(storage)));
  return v;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** strict/warn field checks of a body in the requested version's schema */
function checkVersionBody(def: ResourceDef, body: unknown, opts: WriteOptions): void {
  const r = checkDecode(body, def.schema);
  const first = r.mismatches[0];
  if (first)
    throw badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${goDecodeError(first)}`,
    );
  if (!r.unknown.length) return;
  const mode = opts.fieldValidation ?? 'Warn';
  if (mode === 'Strict')
    throw badRequest(`strict decoding error: ${r.unknown.map((p) => `unknown field "${p}"`).join(', ')}`);
  if (mode === 'Warn') for (const p of r.unknown) opts.warnings?.push(`unknown field "${p}"`);
}

function toStorageBody(def: ResourceDef, conv: VersionConversion, body: unknown, opts: WriteOptions): unknown {
  if (!isObj(body)) return body; // the write path answers a non-object with its own 400
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(def)) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersionOf(def)})`,
    );
  }
  if (body.kind !== undefined && body.kind !== def.kind) {
    throw badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${String(body.kind)}: the object kind "${String(body.kind)}" does not match the expected kind "${def.kind}"`,
    );
  }
  checkVersionBody(def, body, opts);
  const b = structuredClone(body) as KubeObject;
  b.metadata ??= {};
  return conv.toStorage(b);
}

class ConvertedStorage extends ApiStorage {
  constructor(private readonly inner: ApiStorage) {
    super(inner.store);
  }

  private out(def: ResourceDef, obj: KubeObject): KubeObject {
    return def.conversion ? def.conversion.fromStorage(obj) : obj;
  }

  override get<D extends ResourceDef>(def: D, namespace: string | undefined, name: string): Promise<ObjectOfDef<D>>;
  override async get(def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject> {
    if (!def.conversion) return this.inner.get(def, namespace, name);
    return this.out(def, await this.inner.get(def.conversion.storage(), namespace, name));
  }

  override tryGet<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
  ): Promise<ObjectOfDef<D> | undefined>;
  override async tryGet(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined> {
    if (!def.conversion) return this.inner.tryGet(def, namespace, name);
    const o = await this.inner.tryGet(def.conversion.storage(), namespace, name);
    return o && this.out(def, o);
  }

  override list<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    q?: ListQuery,
  ): Promise<ListResult<ObjectOfDef<D>>>;
  override async list(def: ResourceDef, namespace: string | undefined, q: ListQuery = {}): Promise<ListResult> {
    if (!def.conversion) return this.inner.list(def, namespace, q);
    const l = await this.inner.list(def.conversion.storage(), namespace, { ...q, shared: false }); // converted in place below: copies
    return {
      ...l,
      apiVersion: apiVersionOf(def),
      items: l.items.map((o) => {
        const c = this.out(def, o);
        delete c.apiVersion;
        delete c.kind;
        return c;
      }),
    };
  }

  override create<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    body: unknown,
    opts?: WriteOptions,
  ): Promise<ObjectOfDef<D>>;
  override async create(
    def: ResourceDef,
    namespace: string | undefined,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    const conv = def.conversion;
    if (!conv) return this.inner.create(def, namespace, body, opts);
    const b = toStorageBody(def, conv, body, opts);
    return this.out(def, await this.inner.create(conv.storage(), namespace, b, { ...opts, fieldValidation: 'Ignore' }));
  }

  override update<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts?: WriteOptions,
    subresource?: 'status',
  ): Promise<ObjectOfDef<D>>;
  override async update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
    subresource?: 'status',
  ): Promise<KubeObject> {
    const conv = def.conversion;
    if (!conv) return this.inner.update(def, namespace, name, body, opts, subresource);
    const b = toStorageBody(def, conv, body, opts);
    return this.out(
      def,
      await this.inner.update(conv.storage(), namespace, name, b, { ...opts, fieldValidation: 'Ignore' }, subresource),
    );
  }

  override patch<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: unknown,
    opts?: WriteOptions,
    subresource?: 'status',
  ): Promise<{ object: ObjectOfDef<D>; created: boolean }>;
  override async patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: unknown,
    opts: WriteOptions = {},
    subresource?: 'status',
  ): Promise<{ object: KubeObject; created: boolean }> {
    const conv = def.conversion;
    if (!conv) return this.inner.patch(def, namespace, name, type, patchBody, opts, subresource);
    if (type === 'apply' && !subresource && !(await this.inner.tryGet(conv.storage(), namespace, name))) {
      const body = isObj(patchBody)
        ? { ...patchBody, metadata: { ...(isObj(patchBody.metadata) ? patchBody.metadata : {}), name } }
        : patchBody;
      return { object: await this.create(def, namespace, body, opts), created: true };
    }
    const object = await this.inner.guaranteedUpdate(
      conv.storage(),
      namespace,
      name,
      opts,
      (cur) => {
        const shown = conv.fromStorage(cur);
        const patched = applyPatch(type, shown, patchBody, def);
        if (!isObj(patched) || !isObj(patched.metadata)) throw badRequest('patch produced an object without metadata');
        const p = patched as KubeObject;
        if (p.metadata.resourceVersion && p.metadata.resourceVersion !== cur.metadata.resourceVersion)
          throw conflict(def.resource, name, STALE_OBJECT, def.group);
        if (p.metadata.name !== undefined && p.metadata.name !== name)
          throw badRequest(`the name of the object (${p.metadata.name}) does not match the name on the URL (${name})`);
        checkVersionBody(def, p, opts);
        return conv.toStorage(p);
      },
      subresource,
    );
    return { object: this.out(def, object), created: false };
  }

  override delete<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    name: string,
    opts?: DeleteOptions,
  ): Promise<DeleteResult<ObjectOfDef<D>>>;
  override async delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<DeleteResult> {
    if (!def.conversion) return this.inner.delete(def, namespace, name, opts);
    const r = await this.inner.delete(def.conversion.storage(), namespace, name, opts);
    return { ...r, object: this.out(def, r.object) };
  }

  override async deleteCollection(
    def: ResourceDef,
    namespace: string | undefined,
    q: ListQuery,
    opts: DeleteOptions = {},
  ): Promise<ListResult> {
    if (!def.conversion) return this.inner.deleteCollection(def, namespace, q, opts);
    const l = await this.inner.deleteCollection(def.conversion.storage(), namespace, q, opts);
    return { ...l, apiVersion: apiVersionOf(def), items: l.items.map((o) => this.out(def, o)) };
  }

  override watch<D extends ResourceDef>(
    def: D,
    namespace: string | undefined,
    q: WatchQuery,
    sink: (ev: WatchEvent<ObjectOfDef<D>>) => void,
  ): Promise<{ cancel(): void }>;
  override async watch(
    def: ResourceDef,
    namespace: string | undefined,
    q: WatchQuery,
    sink: (ev: WatchEvent) => void,
  ): Promise<{ cancel(): void }> {
    if (!def.conversion) return this.inner.watch(def, namespace, q, sink);
    // conversion rewrites the object it is given: each event its own copy, never the shared one
    return this.inner.watch(def.conversion.storage(), namespace, { ...q, shared: false }, (ev) => {
      if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') return sink(ev);
      sink({ type: ev.type, object: this.out(def, ev.object as KubeObject) });
    });
  }
}
