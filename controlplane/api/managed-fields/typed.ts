// Objects seen through their schema the way structured-merge-diff's typed package sees
// them: which values are leaves (scalars, atomic lists and structs), which are granular
// (structs and maps field by field, associative lists by key, sets by value), and from that
// an applied configuration's field set (ToFieldSet), the added/modified/removed sets
// between two objects (Compare) and the removal of a set's members (RemoveItems).
//
// List types come from the patch metadata in proto/schema/defs.ts, as kube-openapi's
// schemaconv derives them when a list has no +listType: patchStrategy merge + mergeKey is
// an associative list keyed by it, merge without key a set, anything else atomic. The few
// lists whose +listMapKey markers name more keys than their patchMergeKey are listed in
// MULTI_KEYS (with the key default protocol=TCP, as upstream's schema carries it).
// Values without a schema (unknown fields, free-form JSON) are "deduced": objects are
// granular maps, lists atomic.
import type { FieldSchema } from '../../../proto/schema/types.js';
import { FieldSet, comparePE, fieldPE, indexPE, keyPE, valuePE, type FieldsV1 } from './fieldset.js';
import { sameValue } from '../same-value.js';

type Resolve = (s: FieldSchema) => FieldSchema;
type Obj = Record<string, unknown>;

/** +structType=atomic types (owned as one leaf) */
const ATOMIC_STRUCTS = new Set(['LabelSelector', 'NodeSelector']);

/** `<field>/<patchMergeKey>` → the +listMapKey keys */
const MULTI_KEYS: Record<string, string[]> = {
  'ports/containerPort': ['containerPort', 'protocol'],
  'ports/port': ['port', 'protocol'],
  'topologySpreadConstraints/topologyKey': ['topologyKey', 'whenUnsatisfiable'],
};
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/** metadata fields stripped before field sets are computed (fieldmanager's stripMeta) */
const STRIPPED_META = new Set([
  'name',
  'namespace',
  'creationTimestamp',
  'selfLink',
  'uid',
  'generation',
  'managedFields',
  'resourceVersion',
]);

export interface TypedOptions {
  resolve: Resolve;
  /** the root schema of the kind (undefined: deduced throughout) */
  schema: FieldSchema | undefined;
  /** drop `status` at the root (writes through the main resource of kinds with a status subresource) */
  ignoreStatus?: boolean;
}

interface Node {
  kind: 'leaf' | 'struct' | 'map' | 'set' | 'assoc';
  /** child schema lookup for struct/map; the item schema for lists */
  schema: FieldSchema | undefined;
  keys?: string[];
}

const LEAF: Node = { kind: 'leaf', schema: undefined };
const DEDUCED_MAP: Node = { kind: 'map', schema: undefined };

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Typed {
  constructor(private readonly o: TypedOptions) {}

  private node(s: FieldSchema | undefined, v: unknown, field: string): Node {
    if (s === undefined || s.t === 'any') return isObj(v) ? DEDUCED_MAP : LEAF;
    if (s.t === 'ref' && ATOMIC_STRUCTS.has(s.name)) return LEAF;
    const r = this.o.resolve(s);
    switch (r.t) {
      case 'object':
        return isObj(v) ? { kind: 'struct', schema: r } : LEAF;
      case 'map':
        return isObj(v) ? { kind: 'map', schema: r.values } : LEAF;
      case 'list': {
        if (!Array.isArray(v) || r.strategy !== 'merge') return LEAF;
        if (!r.mergeKey) return { kind: 'set', schema: r.items };
        return { kind: 'assoc', schema: r.items, keys: MULTI_KEYS[`${field}/${r.mergeKey}`] ?? [r.mergeKey] };
      }
      default:
        return LEAF;
    }
  }

  private childSchema(n: Node, key: string): FieldSchema | undefined {
    if (n.kind === 'map') return n.schema;
    const s = n.schema;
    return s && s.t === 'object' && Object.hasOwn(s.fields, key) ? s.fields[key] : undefined;
  }

  private itemPE(n: Node, item: unknown, i: number): string {
    if (n.kind === 'set') return valuePE(item);
    if (!isObj(item)) return indexPE(i);
    const keys = n.keys!;
    if (keys.length === 1) {
      const v = item[keys[0]!];
      return v === undefined ? indexPE(i) : keyPE(keys, [v]);
    }
    const names: string[] = [];
    const vals: unknown[] = [];
    for (const k of keys) {
      const v = item[k] ?? KEY_DEFAULTS[k];
      if (v !== undefined) {
        names.push(k);
        vals.push(v);
      }
    }
    return names.length ? keyPE(names, vals) : indexPE(i);
  }

  /** the keys of the root object or of metadata that take part in field sets */
  private skip(depth: number, parentKey: string | undefined, key: string): boolean {
    if (depth === 0) return key === 'apiVersion' || key === 'kind' || (key === 'status' && !!this.o.ignoreStatus);
    return depth === 1 && parentKey === 'metadata' && STRIPPED_META.has(key);
  }

  // ---- ToFieldSet (an applied configuration's set) -------------------------------

  /**
   * `within`: the object the configuration was merged into; fields of the configuration it
   * does not hold (keys the merge dropped, e.g. `__proto__`) are not owned.
   */
  toFieldSet(obj: unknown, within?: unknown): FieldSet {
    const out = new FieldSet();
    if (isObj(obj))
      this.addFields(
        out,
        obj,
        { kind: 'struct', schema: this.rootSchema() },
        0,
        undefined,
        isObj(within) ? within : undefined,
      );
    return out;
  }

  private rootSchema(): FieldSchema | undefined {
    return this.o.schema && this.o.resolve(this.o.schema);
  }

  private addFields(
    node: FieldSet,
    v: Obj,
    n: Node,
    depth: number,
    self: string | undefined,
    within: Obj | undefined,
  ): void {
    for (const k of Object.keys(v)) {
      if (this.skip(depth, self, k)) continue;
      const cv = v[k];
      if (cv === undefined || (within && !Object.hasOwn(within, k))) continue;
      const pe = fieldPE(k);
      const c = node.child(pe);
      this.addValue(c, cv, this.node(this.childSchema(n, k), cv, k), depth + 1, k, within?.[k]);
      if (c.empty()) node.children!.delete(pe);
    }
  }

  private addValue(node: FieldSet, v: unknown, n: Node, depth: number, key: string, within: unknown): void {
    switch (n.kind) {
      case 'leaf':
        node.self = true;
        return;
      case 'struct':
      case 'map':
        this.addFields(node, v as Obj, n, depth, key, isObj(within) ? within : undefined);
        return;
      default: {
        const items = v as unknown[];
        let inside: Map<string, unknown> | undefined;
        if (n.kind === 'assoc' && Array.isArray(within)) {
          inside = new Map();
          for (let i = 0; i < within.length; i++) inside.set(this.itemPE(n, within[i], i), within[i]);
        }
        for (let i = 0; i < items.length; i++) {
          const pe = this.itemPE(n, items[i], i);
          const c = node.child(pe);
          c.self = true;
          if (n.kind === 'assoc')
            this.addValue(c, items[i], this.node(n.schema, items[i], ''), depth + 1, '', inside?.get(pe));
        }
      }
    }
  }

  // ---- a create's fields -------------------------------------------------------------

  /**
   * The FieldsV1 of compare(undefined, obj, true).added, built directly (every write that
   * creates an object pays for it; no FieldSet, no path inserts). Undefined when empty.
   */
  createdFieldsV1(obj: unknown): FieldsV1 | undefined {
    if (!isObj(obj)) return undefined;
    return this.createdFields(obj, { kind: 'struct', schema: this.rootSchema() }, 0, undefined, true);
  }

  private createdFields(v: Obj, n: Node, depth: number, self: string | undefined, zero: boolean): FieldsV1 | undefined {
    const keys: string[] = [];
    const vals: FieldsV1[] = [];
    for (const k in v) {
      const cv = v[k];
      if (cv === undefined || this.skip(depth, self, k)) continue;
      const f = this.createdValue(
        cv,
        this.node(this.childSchema(n, k), cv, k),
        depth + 1,
        k,
        zero && n.kind === 'struct',
      );
      if (f) {
        keys.push(fieldPE(k));
        vals.push(f);
      }
    }
    return assemble(keys, vals);
  }

  private createdValue(v: unknown, n: Node, depth: number, key: string, zero: boolean): FieldsV1 | undefined {
    if (n.kind === 'leaf') return {};
    const own = !(zero && n.kind !== 'map' && !isEmpty(v));
    let inner: FieldsV1 | undefined;
    if (n.kind === 'struct' || n.kind === 'map')
      inner = this.createdFields(v as Obj, n, depth, key, zero && n.kind === 'struct');
    else {
      const items = v as unknown[];
      const keys: string[] = [];
      const vals: FieldsV1[] = [];
      for (let i = 0; i < items.length; i++) {
        keys.push(this.itemPE(n, items[i], i));
        vals.push(
          n.kind === 'set'
            ? {}
            : (this.createdValue(items[i], this.node(n.schema, items[i], ''), depth + 1, '', false) ?? {}),
        );
      }
      inner = assemble(keys, vals);
    }
    if (!inner) return own ? {} : undefined;
    return own ? { '.': {}, ...inner } : inner;
  }

  // ---- Compare ---------------------------------------------------------------------

  /**
   * The fields added, modified and removed from lhs to rhs. `fromZero`: lhs stands for
   * the zero value of the kind's Go type (a create), where structs and lists outside list
   * items already exist, so only their members count as added (maps get `.`).
   */
  compare(lhs: unknown, rhs: unknown, fromZero = false): Comparison {
    const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
    const root: Node = { kind: 'struct', schema: this.rootSchema() };
    this.cmpFields(isObj(lhs) ? lhs : undefined, isObj(rhs) ? rhs : undefined, root, [], c, 0, undefined, fromZero);
    return c;
  }

  private cmpFields(
    l: Obj | undefined,
    r: Obj | undefined,
    n: Node,
    path: string[],
    c: Comparison,
    depth: number,
    self: string | undefined,
    zero: boolean,
  ): void {
    if (l)
      for (const k in l) {
        if (l[k] === undefined || this.skip(depth, self, k)) continue;
        const rv = r?.[k];
        path.push(fieldPE(k));
        this.cmp(l[k], rv, this.childSchema(n, k), k, path, c, depth + 1, zero);
        path.pop();
      }
    if (r)
      for (const k in r) {
        if (r[k] === undefined || (l && l[k] !== undefined) || this.skip(depth, self, k)) continue;
        path.push(fieldPE(k));
        this.cmp(undefined, r[k], this.childSchema(n, k), k, path, c, depth + 1, zero);
        path.pop();
      }
  }

  private cmp(
    l: unknown,
    r: unknown,
    s: FieldSchema | undefined,
    key: string,
    path: string[],
    c: Comparison,
    depth: number,
    zero: boolean,
  ): void {
    const nl = l === undefined ? undefined : this.node(s, l, key);
    const nr = r === undefined ? undefined : this.node(s, r, key);
    const n = (nr ?? nl)!;
    if (n.kind === 'leaf' || (nl && nr && nl.kind !== nr.kind)) {
      if (l === undefined) c.added.insert(path);
      else if (r === undefined) c.removed.insert(path);
      else if (!sameValue(l, r)) c.modified.insert(path);
      return;
    }
    if (n.kind === 'struct' || n.kind === 'map') {
      this.cmpFields(l as Obj | undefined, r as Obj | undefined, n, path, c, depth, key, zero && n.kind === 'struct');
    } else {
      this.cmpItems(l as unknown[] | undefined, r as unknown[] | undefined, n, path, c, depth);
    }
    if (l === undefined) {
      // a create: non-pointer structs and non-omitempty lists exist in Go's zero value
      if (!(zero && n.kind !== 'map' && !isEmpty(r))) c.added.insert(path);
    } else if (r === undefined) c.removed.insert(path);
  }

  private cmpItems(
    l: unknown[] | undefined,
    r: unknown[] | undefined,
    n: Node,
    path: string[],
    c: Comparison,
    depth: number,
  ): void {
    const left = new Map<string, unknown>();
    if (l) for (let i = 0; i < l.length; i++) left.set(this.itemPE(n, l[i], i), l[i]);
    const seen = new Set<string>();
    if (r)
      for (let i = 0; i < r.length; i++) {
        const pe = this.itemPE(n, r[i], i);
        seen.add(pe);
        path.push(pe);
        this.cmpItem(left.get(pe), r[i], n, path, c, depth);
        path.pop();
      }
    for (const [pe, v] of left) {
      if (seen.has(pe)) continue;
      path.push(pe);
      this.cmpItem(v, undefined, n, path, c, depth);
      path.pop();
    }
  }

  private cmpItem(l: unknown, r: unknown, n: Node, path: string[], c: Comparison, depth: number): void {
    if (n.kind === 'set') {
      if (l === undefined) c.added.insert(path);
      else if (r === undefined) c.removed.insert(path);
      return;
    }
    this.cmp(l, r, n.schema, '', path, c, depth + 1, false);
  }

  // ---- RemoveItems -----------------------------------------------------------------

  /** obj without the members of set (obj is changed in place); containers emptied by it go too */
  removeItems(obj: Obj, set: FieldSet): void {
    this.removeFields(obj, set, { kind: 'struct', schema: this.rootSchema() });
  }

  private removeFields(v: Obj, set: FieldSet, n: Node): void {
    if (!set.children) return;
    for (const [pe, c] of set.children) {
      if (pe[0] !== 'f') continue;
      const k = pe.slice(2);
      if (!(k in v)) continue;
      if (c.self) {
        delete v[k];
        continue;
      }
      const cv = v[k];
      const cn = this.node(this.childSchema(n, k), cv, k);
      if (cn.kind === 'leaf' || isEmpty(cv)) continue;
      if (cn.kind === 'struct' || cn.kind === 'map') this.removeFields(cv as Obj, c, cn);
      else v[k] = this.removeListItems(cv as unknown[], c, cn);
      if (isEmpty(v[k])) delete v[k];
    }
  }

  private removeListItems(items: unknown[], set: FieldSet, n: Node): unknown[] {
    const out: unknown[] = [];
    for (let i = 0; i < items.length; i++) {
      const c = set.children?.get(this.itemPE(n, items[i], i));
      if (!c) {
        out.push(items[i]);
        continue;
      }
      if (c.self) continue;
      if (n.kind === 'assoc' && isObj(items[i]))
        this.removeFields(items[i] as Obj, c, this.node(n.schema, items[i], ''));
      out.push(items[i]);
    }
    return out;
  }
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isObj(v)) {
    for (const _ in v) return false;
    return true;
  }
  return false;
}

/** a FieldsV1 level from its element keys and values, in PathElement order */
function assemble(keys: string[], vals: FieldsV1[]): FieldsV1 | undefined {
  if (keys.length === 0) return undefined;
  const order = keys.map((_, i) => i);
  let fieldsOnly = true;
  for (const k of keys)
    if (k[0] !== 'f') {
      fieldsOnly = false;
      break;
    }
  order.sort(
    fieldsOnly
      ? (a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0)
      : (a, b) => comparePE(keys[a]!, keys[b]!),
  );
  const out: FieldsV1 = {};
  for (const i of order) out[keys[i]!] = vals[i]!;
  return out;
}
