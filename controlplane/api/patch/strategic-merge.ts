// Strategic merge patch, applied the way kube-apiserver applies it
// (k8s.io/apimachinery pkg/util/strategicpatch: StrategicMergeMapPatch, i.e. mergeMap
// with MergeParallelList=true and IgnoreUnmatchedNulls=true).
//
// The patch strategy and merge key of every list come from the field schema
// (proto/schema/types.ts), which mirrors the `patchStrategy`/`patchMergeKey` struct tags.
// Fields without a schema (unknown fields, `any`) merge as maps and have their lists
// replaced whole, which is what apimachinery does for fields without patch metadata.
//
// Semantics, as upstream:
// - maps merge recursively; `null` deletes a key (a null for a key that is absent is dropped);
// - `$patch: replace` on a map replaces it with the rest of the patch map; `$patch: delete`
//   empties it (`{}`); `$patch: merge` is the default (accepted and ignored);
// - lists with strategy 'merge' and a mergeKey merge element by element; elements whose key is
//   not in the live list are added, `{"$patch":"delete", <key>: v}` removes every element
//   with that key, a `{"$patch":"replace"}` element replaces the list with the other elements;
// - lists with strategy 'merge' of primitives are merged as an ordered set (finalizers);
//   `$deleteFromPrimitiveList/<field>: [...]` removes values from such a list;
// - every other list is replaced whole;
// - `$retainKeys: [...]` clears every key of the live map not listed (and the patch may only
//   set listed keys);
// - ordering: the resulting order of a merged list is `$setElementOrder/<field>` if given,
//   else the patch order for the patched elements, interleaved with the live-only elements
//   in their live order. As upstream, elements that are new to the list come before the
//   live-only elements that follow them (apimachinery's mergeSortedSlice), e.g. adding
//   container `c` to `[a, b]` without $setElementOrder yields `[c, a, b]`; kubectl always
//   sends $setElementOrder, which pins the order it wants.
//
// Values the patch introduces (keys absent from the live object, replaced lists, appended
// list elements) are cleaned of directives and nulls, as recent apimachinery does with
// removeDirectives/discardNullValuesFromPatch (upstream then decodes into Go structs, which
// drops whatever is left; skiff stores JSON, so the cleaning has to be complete here).
//
// Inputs are never mutated: both are deep-copied first, after which the merge works in place
// on the copies like the Go code does.

import type { FieldSchema } from '../../../proto/schema/types.js';

/**
 * A malformed patch. `code` is the HTTP status the caller should answer with: 400 for the
 * errors kube-apiserver reports as BadRequest (apimachinery's mergepatch.ErrBad* and
 * malformed JSON patch documents), 422 for the rest.
 */
export class PatchError extends Error {
  override name = 'PatchError';
  constructor(
    message: string,
    public readonly code: 400 | 422 = 422,
  ) {
    super(message);
  }
}

type JMap = Record<string, unknown>;
type Resolve = (s: FieldSchema) => FieldSchema;
type Kind = 'map' | 'slice' | 'string' | 'number' | 'bool' | 'nil';

const DIRECTIVE = '$patch';
const DELETE = 'delete';
const REPLACE = 'replace';
const MERGE = 'merge';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

// apimachinery's mergepatch sentinel errors (kube-apiserver answers them with 400 BadRequest).
const ERR_BAD_JSON_DOC = 'invalid JSON document';
const ERR_NO_LIST_OF_LISTS = 'lists of lists are not supported';
const ERR_BAD_PRIMITIVE_LIST = 'invalid patch format of primitive list';
const ERR_BAD_RETAIN_KEYS = 'invalid patch format of retainKeys';
const ERR_BAD_SET_ELEMENT_ORDER = 'invalid patch format of setElementOrder list';

/**
 * Applies a strategic merge patch to `original` (a JSON object; `null`/`undefined` counts as
 * `{}`), using `schema` (the kind's field schema, `undefined` when unknown) for list strategies
 * and merge keys. `resolve` follows schema `ref`s. Returns a new object; throws PatchError.
 */
export function strategicMergePatch(
  original: unknown,
  patch: unknown,
  schema: FieldSchema | undefined,
  resolve: Resolve,
): unknown {
  if (!isMap(patch)) throw new PatchError(ERR_BAD_JSON_DOC, 400);
  const orig = original === null || original === undefined ? {} : original;
  if (!isMap(orig)) throw new PatchError(ERR_BAD_JSON_DOC, 400);
  return new Merger(resolve).mergeMap(structuredClone(orig), structuredClone(patch), schema);
}

interface ListMeta {
  strategy: 'merge' | undefined;
  /** '' when the list has no merge key (replace lists, sets of primitives) */
  mergeKey: string;
  items: FieldSchema | undefined;
  name: string;
}

class Merger {
  constructor(private readonly resolveRef: Resolve) {}

  // ---- schema lookups ---------------------------------------------------------------

  private res(s: FieldSchema | undefined): FieldSchema | undefined {
    return s === undefined ? undefined : this.resolveRef(s);
  }

  /** The schema of field `key` of a map described by `parent` (an object or a map). */
  private child(parent: FieldSchema | undefined, key: string): FieldSchema | undefined {
    const p = this.res(parent);
    if (!p) return undefined;
    if (p.t === 'object') return Object.hasOwn(p.fields, key) ? this.res(p.fields[key]) : undefined;
    if (p.t === 'map') return this.res(p.values);
    return undefined;
  }

  private listMeta(s: FieldSchema | undefined, name: string): ListMeta {
    const l = this.res(s);
    if (l && l.t === 'list')
      return { strategy: l.strategy, mergeKey: l.mergeKey ?? '', items: this.res(l.items), name };
    return { strategy: undefined, mergeKey: '', items: undefined, name };
  }

  // ---- maps -------------------------------------------------------------------------

  /** apimachinery mergeMap: merges `patch` into `original` (both owned, mutated). */
  mergeMap(original: JMap, patch: JMap, schema: FieldSchema | undefined): JMap {
    if (Object.hasOwn(patch, DIRECTIVE)) {
      const directive = patch[DIRECTIVE];
      if (directive === REPLACE) {
        // Use the patch itself; clean it by applying it to nothing.
        delete patch[DIRECTIVE];
        return this.mergeMap({}, patch, schema);
      }
      if (directive === DELETE) return {};
      if (directive !== MERGE) throw badPatchType(directive, patch);
      // `$patch: merge` is the default behaviour; upstream rejects it on maps, we accept it.
      delete patch[DIRECTIVE];
    }

    this.applyRetainKeys(original, patch);
    this.mergeSetElementOrder(original, patch, schema);

    for (const k0 of Object.keys(patch)) {
      const patchV = patch[k0];
      let k = k0;
      let isDeleteList = false;
      if (k0.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
        k = extractKey(k0, DELETE_FROM_PRIMITIVE_LIST);
        isDeleteList = true;
      }

      if (patchV === null) {
        delete original[k];
        continue;
      }

      const fieldSchema = this.child(schema, k);
      if (!Object.hasOwn(original, k)) {
        if (!isDeleteList) this.setFresh(original, k, patchV, fieldSchema);
        continue;
      }

      const origV = original[k];
      const ok = kindOf(origV);
      if (ok !== kindOf(patchV)) {
        if (!isDeleteList) this.setFresh(original, k, patchV, fieldSchema);
        continue;
      }
      if (ok === 'map') {
        setKey(original, k, this.mergeMap(origV as JMap, patchV as JMap, fieldSchema));
      } else if (ok === 'slice') {
        setKey(
          original,
          k,
          this.mergeSliceHandler(origV as unknown[], patchV as unknown[], this.listMeta(fieldSchema, k), isDeleteList),
        );
      } else {
        setKey(original, k, patchV);
      }
    }
    return original;
  }

  private setFresh(target: JMap, k: string, v: unknown, schema: FieldSchema | undefined): void {
    const f = this.fresh(v, schema, k);
    if (f.keep) setKey(target, k, f.value);
    else delete target[k];
  }

  /**
   * A value the patch introduces (no live counterpart): directives are applied against
   * nothing and nulls dropped. `keep: false` for a map carrying `$patch: delete`.
   */
  private fresh(v: unknown, schema: FieldSchema | undefined, name: string): { keep: boolean; value?: unknown } {
    if (isMap(v)) {
      if (Object.hasOwn(v, DIRECTIVE)) {
        const d = v[DIRECTIVE];
        if (d === DELETE) return { keep: false };
        if (d !== REPLACE && d !== MERGE) throw badPatchType(d, v);
      }
      return { keep: true, value: this.mergeMap({}, v, schema) };
    }
    if (Array.isArray(v)) {
      const meta = this.listMeta(schema, name);
      if (meta.strategy === 'merge' && v.some((e) => isMap(e) && Object.hasOwn(e, DIRECTIVE))) {
        return { keep: true, value: this.mergeSlice([], v, meta, false) };
      }
      return { keep: true, value: this.freshElements(v, meta.items, name) };
    }
    return { keep: true, value: v };
  }

  private freshElements(list: unknown[], items: FieldSchema | undefined, name: string): unknown[] {
    const out: unknown[] = [];
    for (const e of list) {
      const f = this.fresh(e, items, name);
      if (f.keep) out.push(f.value);
    }
    return out;
  }

  /** `$retainKeys`: clear the live keys not listed; the patch may only set listed keys. */
  private applyRetainKeys(original: JMap, patch: JMap): void {
    if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
    const retain = patch[RETAIN_KEYS];
    delete patch[RETAIN_KEYS];
    if (!Array.isArray(retain)) throw new PatchError(ERR_BAD_RETAIN_KEYS, 400);
    const keep = new Set<unknown>(retain);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
      if (!keep.has(k)) throw new PatchError(ERR_BAD_RETAIN_KEYS, 400);
    }
    for (const k of Object.keys(original)) {
      if (!keep.has(k)) delete original[k];
    }
  }

  /**
   * `$setElementOrder/<field>`: merges the list `<field>` of the patch (if any) into the live
   * one, then orders the result: listed elements in the listed order, live-only elements
   * interleaved by their live order. Removes both keys from the patch.
   */
  private mergeSetElementOrder(original: JMap, patch: JMap, schema: FieldSchema | undefined): void {
    for (const key of Object.keys(patch)) {
      if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
      const setOrder = patch[key];
      delete patch[key];
      if (!Array.isArray(setOrder)) throw badArgType([], setOrder);
      const field = extractKey(key, SET_ELEMENT_ORDER);

      const foundOriginal = Object.hasOwn(original, field);
      const foundPatch = Object.hasOwn(patch, field);
      let originalList: unknown[] | undefined;
      let patchList: unknown[] | undefined;
      if (foundOriginal) {
        const v = original[field];
        if (!Array.isArray(v)) throw badArgType([], v);
        originalList = v;
      }
      if (foundPatch) {
        const v = patch[field];
        if (!Array.isArray(v)) throw badArgType([], v);
        patchList = v;
      }
      const fieldSchema = this.child(schema, field);
      const meta = this.listMeta(fieldSchema, field);
      validatePatchWithSetOrderList(patchList ?? [], setOrder, meta.mergeKey);

      let merged: unknown[];
      if (originalList && !patchList) merged = originalList;
      else if (!originalList && patchList) merged = this.fresh(patchList, fieldSchema, field).value as unknown[];
      else if (originalList && patchList) merged = this.mergeSliceHandler(originalList, patchList, meta, false);
      else continue;

      const kind = sliceElementType(originalList ?? [], patchList ?? []);
      if (kind === undefined) {
        // Upstream errors ("no elements in any of the given slices"); nothing to order.
        setKey(original, field, merged);
        delete patch[field];
        continue;
      }
      const [patchItems, serverOnly] =
        meta.mergeKey === '' ? partitionPrimitives(merged, setOrder) : partitionMaps(merged, setOrder, meta.mergeKey);
      setKey(
        original,
        field,
        normalizeElementOrder(patchItems, serverOnly, setOrder, originalList ?? [], meta.mergeKey, kind === 'map'),
      );
      delete patch[field];
    }
  }

  // ---- lists ------------------------------------------------------------------------

  private mergeSliceHandler(original: unknown[], patch: unknown[], meta: ListMeta, isDeleteList: boolean): unknown[] {
    // Delete lists are handled the same way whatever the field's strategy (as upstream).
    if (meta.strategy === 'merge' || isDeleteList) return this.mergeSlice(original, patch, meta, isDeleteList);
    return this.freshElements(patch, meta.items, meta.name);
  }

  /** apimachinery mergeSlice. */
  private mergeSlice(original: unknown[], patch: unknown[], meta: ListMeta, isDeleteList: boolean): unknown[] {
    if (original.length === 0 && patch.length === 0) return original;
    const kind = sliceElementType(original, patch);
    const isMapKind = kind === 'map';
    const mergeKey = meta.mergeKey;

    let merged: unknown[];
    if (!isMapKind) {
      if (isDeleteList) return deleteFromSlice(original, patch);
      merged = dedupeScalars([...original, ...patch]);
    } else {
      // Upstream would merge a list of maps given as a deletion list; that is no patch
      // anyone sends, so it is rejected as malformed.
      if (isDeleteList) throw new PatchError(ERR_BAD_PRIMITIVE_LIST, 400);
      if (mergeKey === '') throw new PatchError(`cannot merge lists without merge key for ${meta.name}`);
      const special = this.mergeSliceWithSpecialElements(original, patch, mergeKey, meta);
      original = special.original;
      patch = special.patch;
      merged = this.mergeSliceWithoutSpecialElements(original, patch, mergeKey, meta);
    }

    const [patchItems, serverOnly] =
      mergeKey === '' ? partitionPrimitives(merged, patch) : partitionMaps(merged, patch, mergeKey);
    return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, isMapKind);
  }

  /**
   * Applies the `$patch` elements of a merge list: deletes by merge key, or replaces the
   * whole list with the other patch elements. Returns the updated live list and the patch
   * without its special elements.
   */
  private mergeSliceWithSpecialElements(
    original: unknown[],
    patch: unknown[],
    mergeKey: string,
    meta: ListMeta,
  ): { original: unknown[]; patch: unknown[] } {
    const plain: unknown[] = [];
    let replace = false;
    for (const v of patch) {
      const m = v as JMap; // sliceElementType made sure every element is a map
      if (!Object.hasOwn(m, DIRECTIVE)) {
        plain.push(v);
        continue;
      }
      const directive = m[DIRECTIVE];
      if (directive === DELETE) {
        if (!Object.hasOwn(m, mergeKey)) throw noMergeKey(m, mergeKey);
        original = deleteMatchingEntries(original, mergeKey, m[mergeKey]);
      } else if (directive === REPLACE) {
        replace = true; // keep going, to drop any other $patch elements
      } else if (directive === MERGE) {
        throw new PatchError('merging lists cannot yet be specified in the patch');
      } else {
        throw badPatchType(directive, m);
      }
    }
    if (replace) return { original: this.freshElements(plain, meta.items, meta.name), patch: [] };
    return { original, patch: plain };
  }

  /** Merges each patch element into the live element with the same key, or adds it. */
  private mergeSliceWithoutSpecialElements(
    original: unknown[],
    patch: unknown[],
    mergeKey: string,
    meta: ListMeta,
  ): unknown[] {
    const merged = [...original];
    for (const v of patch) {
      const m = v as JMap;
      if (!Object.hasOwn(m, mergeKey)) throw noMergeKey(m, mergeKey);
      const i = findMapByKey(merged, mergeKey, m[mergeKey]);
      if (i >= 0) {
        merged[i] = this.mergeMap(merged[i] as JMap, m, meta.items);
      } else {
        const f = this.fresh(m, meta.items, meta.name);
        if (f.keep) merged.push(f.value);
      }
    }
    return merged;
  }
}

// ---- ordering (apimachinery normalizeElementOrder & co) --------------------------------

/**
 * Sorts the patch items by `patchOrder` and the live-only items by `serverOrder`, then
 * merges the two: a live-only item goes before the next patch item only when both are in
 * the live list and it came first there.
 */
function normalizeElementOrder(
  patch: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  isMapKind: boolean,
): unknown[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, isMapKind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, isMapKind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, isMapKind);
}

function mergeSortedSlice(
  left: unknown[],
  right: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  isMapKind: boolean,
): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, isMapKind);
      const ri = indexIn(serverOrder, right[j], mergeKey, isMapKind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, isMapKind: boolean): unknown[] {
  let toDelete: unknown[] = [];
  let items = toSort;
  if (isMapKind) {
    validateMergeKeyInLists(mergeKey, toSort, order);
    [items, toDelete] = extractToDeleteItems(toSort);
  }
  const keyed = items.map((item, pos) => {
    const idx = indexIn(order, item, mergeKey, isMapKind);
    return { item, pos, idx: idx < 0 ? Number.POSITIVE_INFINITY : idx };
  });
  keyed.sort((a, b) => (a.idx === b.idx ? a.pos - b.pos : a.idx < b.idx ? -1 : 1));
  return [...keyed.map((k) => k.item), ...toDelete];
}

/** Index of `item` in `list`, comparing merge key values for maps and values otherwise. */
function indexIn(list: unknown[], item: unknown, mergeKey: string, isMapKind: boolean): number {
  const val = (x: unknown): unknown => (isMapKind ? (isMap(x) ? x[mergeKey] : undefined) : x);
  const want = val(item);
  for (let i = 0; i < list.length; i++) if (val(list[i]) === want) return i;
  return -1;
}

function partitionPrimitives(list: unknown[], by: unknown[]): [unknown[], unknown[]] {
  const inPatch = new Set<unknown>(by);
  const patch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) (inPatch.has(v) ? patch : serverOnly).push(v);
  return [patch, serverOnly];
}

function partitionMaps(list: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const patch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) {
    if (!isMap(v)) throw badArgType({}, v);
    if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
    (findMapByKey(by, mergeKey, v[mergeKey]) >= 0 ? patch : serverOnly).push(v);
  }
  return [patch, serverOnly];
}

function validateMergeKeyInLists(mergeKey: string, ...lists: unknown[][]): void {
  for (const list of lists) {
    for (const item of list) {
      if (!isMap(item)) throw badArgType({}, item);
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
    }
  }
}

function extractToDeleteItems(list: unknown[]): [unknown[], unknown[]] {
  const keep: unknown[] = [];
  const del: unknown[] = [];
  for (const v of list) {
    if (!isMap(v)) throw badArgType({}, v);
    (Object.hasOwn(v, DIRECTIVE) && v[DIRECTIVE] === DELETE ? del : keep).push(v);
  }
  return [keep, del];
}

/**
 * Checks that the (non-directive) patch elements appear in the $setElementOrder list, in
 * the same relative order.
 */
function validatePatchWithSetOrderList(patchList: unknown[], setOrder: unknown[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey !== '' ? extractToDeleteItems(patchList)[0] : patchList;
  let p = 0;
  let s = 0;
  while (p < nonDelete.length && s < setOrder.length) {
    const item = nonDelete[p];
    if (isMap(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(item, setOrder[s], mergeKey)) p++;
    s++;
  }
  if (p < nonDelete.length && s >= setOrder.length) {
    throw new PatchError(
      `the order in patch list:\n${goFmt(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFmt(setOrder)}`,
    );
  }
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (mergeKey === '') return left === right;
  if (!isMap(left)) throw badArgType({}, left);
  if (!isMap(right)) throw badArgType({}, right);
  if (!Object.hasOwn(left, mergeKey)) throw noMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw noMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

// ---- small list helpers -----------------------------------------------------------------

function findMapByKey(list: unknown[], key: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isMap(v)) throw new PatchError(`value for key ${i} is not a map`);
    if (Object.hasOwn(v, key) && v[key] === value) return i;
  }
  return -1;
}

function deleteMatchingEntries(list: unknown[], key: string, value: unknown): unknown[] {
  for (let i = 0; i < list.length; i++) {
    if (!isMap(list[i])) throw new PatchError(`value for key ${i} is not a map`);
  }
  return list.filter((v) => !(Object.hasOwn(v as JMap, key) && (v as JMap)[key] === value));
}

function deleteFromSlice(current: unknown[], toDelete: unknown[]): unknown[] {
  const del = new Set<unknown>(toDelete);
  return current.filter((v) => !del.has(v));
}

function dedupeScalars(list: unknown[]): unknown[] {
  return [...new Set<unknown>(list)];
}

/** The common kind of all elements; undefined when there are none. */
function sliceElementType(...lists: unknown[][]): Kind | undefined {
  let prev: Kind | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v);
      if (prev === undefined) {
        if (k === 'slice') throw new PatchError(ERR_NO_LIST_OF_LISTS);
        prev = k;
      } else if (prev !== k) {
        throw new PatchError(`list element types are not identical: ${goFmt(lists)}`);
      }
    }
  }
  return prev;
}

function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    throw new PatchError(
      prefix === DELETE_FROM_PRIMITIVE_LIST ? ERR_BAD_PRIMITIVE_LIST : ERR_BAD_SET_ELEMENT_ORDER,
      400,
    );
  }
  return s.slice(slash + 1);
}

// ---- JSON value helpers -----------------------------------------------------------------

function isMap(v: unknown): v is JMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  switch (typeof v) {
    case 'object':
      return 'map';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'nil';
  }
}

/** Sets an own property, even `__proto__`, without touching the prototype chain. */
function setKey(obj: JMap, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
  else obj[k] = v;
}

// ---- errors, worded as apimachinery's mergepatch errors ---------------------------------

function badPatchType(t: unknown, m: JMap): PatchError {
  return new PatchError(`unknown patch type: ${goFmt(t)} in map: ${goFmt(m)}`);
}

function noMergeKey(m: JMap, key: string): PatchError {
  return new PatchError(`map: ${goFmt(m)} does not contain declared merge key: ${key}`);
}

function badArgType(expected: unknown, actual: unknown): PatchError {
  return new PatchError(`expected a ${goType(expected)}, but received a ${goType(actual)}`);
}

function goType(v: unknown): string {
  switch (kindOf(v)) {
    case 'map':
      return 'map[string]interface {}';
    case 'slice':
      return '[]interface {}';
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(v) ? 'int64' : 'float64';
    case 'bool':
      return 'bool';
    default:
      return '%!s(<nil>)';
  }
}

/** Roughly Go's `%v` of a decoded JSON value: `map[a:1 b:[x y]]`. */
function goFmt(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFmt).join(' ')}]`;
  if (isMap(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFmt(v[k])}`).join(' ')}]`;
  }
  return String(v);
}
