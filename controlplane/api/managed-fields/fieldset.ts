// Field sets, as sigs.k8s.io/structured-merge-diff's fieldpath.Set: a tree of path
// elements where a node may itself be a member (a field, a list item) and/or have member
// descendants. Path elements are kept in their FieldsV1 spelling: `f:<name>` (a field),
// `k:{"k1":v1,...}` (an associative-list item, key fields sorted by name), `v:<json>` (a set
// item), `i:<n>` (an index). The FieldsV1 codec (fieldsV1Of/fromFieldsV1) emits children in
// upstream's PathElement order and `.` for a member that also has children, as
// fieldpath.Set.ToJSON does. Sets are never mutated after they are handed out, except by insert.

export class FieldSet {
  /** this path is itself a member */
  self = false;
  children: Map<string, FieldSet> | undefined = undefined;

  child(pe: string): FieldSet {
    this.children ??= new Map();
    let c = this.children.get(pe);
    if (!c) this.children.set(pe, (c = new FieldSet()));
    return c;
  }

  insert(path: readonly string[]): void {
    let n: FieldSet = this;
    for (const pe of path) n = n.child(pe);
    n.self = true;
  }

  has(path: readonly string[]): boolean {
    let n: FieldSet | undefined = this;
    for (const pe of path) {
      n = n.children?.get(pe);
      if (!n) return false;
    }
    return n.self;
  }

  empty(): boolean {
    return !this.self && (!this.children || this.children.size === 0);
  }

  equals(o: FieldSet): boolean {
    if (this.self !== o.self) return false;
    const a = this.children?.size ?? 0;
    if (a !== (o.children?.size ?? 0)) return false;
    if (!a) return true;
    for (const [k, c] of this.children!) {
      const d = o.children!.get(k);
      if (!d || !c.equals(d)) return false;
    }
    return true;
  }

  /** every member path: members of a level first, then its children (fieldpath.Set.Iterate) */
  forEach(fn: (path: string[]) => void, prefix: string[] = []): void {
    if (!this.children) return;
    const keys = sortedKeys(this.children);
    for (const k of keys) if (this.children.get(k)!.self) fn([...prefix, k]);
    for (const k of keys) {
      const c = this.children.get(k)!;
      if (c.children?.size) c.forEach(fn, [...prefix, k]);
    }
  }
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  if (b.empty()) return a;
  if (a.empty()) return b;
  const out = new FieldSet();
  out.self = a.self || b.self;
  if (a.children || b.children) {
    out.children = new Map(a.children);
    if (b.children)
      for (const [k, c] of b.children) {
        const x = out.children.get(k);
        out.children.set(k, x ? union(x, c) : c);
      }
  }
  return out;
}

/** members of a that are not members of b */
export function difference(a: FieldSet, b: FieldSet): FieldSet {
  if (a.empty() || b.empty()) return a;
  const out = new FieldSet();
  out.self = a.self && !b.self;
  if (a.children)
    for (const [k, c] of a.children) {
      const d = b.children?.get(k);
      const r = d ? difference(c, d) : c;
      if (!r.empty()) (out.children ??= new Map()).set(k, r);
    }
  return out;
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  const out = new FieldSet();
  out.self = a.self && b.self;
  if (a.children && b.children) {
    const [small, big] = a.children.size <= b.children.size ? [a.children, b.children] : [b.children, a.children];
    for (const [k, c] of small) {
      const d = big.get(k);
      if (!d) continue;
      const r = intersection(c, d);
      if (!r.empty()) (out.children ??= new Map()).set(k, r);
    }
  }
  return out;
}

// ---- FieldsV1 ------------------------------------------------------------------

export type FieldsV1 = { [pe: string]: FieldsV1 };

/** the FieldsV1 object of a set, children in PathElement order, `.` first for a member with children */
export function fieldsV1Of(s: FieldSet): FieldsV1 {
  const out: FieldsV1 = {};
  if (!s.children) return out;
  for (const k of sortedKeys(s.children)) {
    const c = s.children.get(k)!;
    if (!c.children || c.children.size === 0) {
      out[k] = {};
      continue;
    }
    const inner = fieldsV1Of(c);
    out[k] = c.self ? { '.': {}, ...inner } : inner;
  }
  return out;
}

export class FieldsV1Error extends Error {}

/** a set from its FieldsV1 object; throws FieldsV1Error for anything that is not one */
export function fromFieldsV1(v: unknown): FieldSet {
  const s = new FieldSet();
  readInto(s, v, 0);
  return s;
}

function readInto(s: FieldSet, v: unknown, depth: number): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FieldsV1Error('expected an object');
  if (depth > 200) throw new FieldsV1Error('too deep');
  for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
    if (k === '.') {
      s.self = true;
      continue;
    }
    if (!/^[fkvi]:/.test(k)) throw new FieldsV1Error(`unknown path element ${JSON.stringify(k)}`);
    if (k[0] === 'k' || k[0] === 'v') {
      try {
        JSON.parse(k.slice(2));
      } catch {
        throw new FieldsV1Error(`bad path element ${JSON.stringify(k)}`);
      }
    } else if (k[0] === 'i' && !/^i:-?[0-9]+$/.test(k))
      throw new FieldsV1Error(`bad path element ${JSON.stringify(k)}`);
    const n = s.child(k);
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new FieldsV1Error('expected an object');
    if (Object.keys(c).length === 0) n.self = true;
    else readInto(n, c, depth + 1);
  }
}

// ---- path elements -------------------------------------------------------------

export function fieldPE(name: string): string {
  return 'f:' + name;
}

/** an associative-list item's element: key fields sorted by name, values JSON-encoded */
export function keyPE(names: readonly string[], values: readonly unknown[]): string {
  if (names.length === 1) return `k:{${JSON.stringify(names[0])}:${JSON.stringify(values[0])}}`;
  const idx = names.map((_, i) => i).sort((a, b) => cmpStr(names[a]!, names[b]!));
  return 'k:{' + idx.map((i) => `${JSON.stringify(names[i])}:${JSON.stringify(values[i])}`).join(',') + '}';
}

export function valuePE(v: unknown): string {
  return 'v:' + JSON.stringify(v);
}

export function indexPE(i: number): string {
  return 'i:' + i;
}

/** a path as upstream prints it in conflicts: `.spec.containers[name="app"].image` */
export function pathString(path: readonly string[]): string {
  let s = '';
  for (const pe of path) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case 'f':
        s += '.' + body;
        break;
      case 'k': {
        const o = JSON.parse(body) as Record<string, unknown>;
        s +=
          '[' +
          Object.entries(o)
            .map(([k, v]) => `${k}=${valueString(v)}`)
            .join(',') +
          ']';
        break;
      }
      case 'v':
        s += `[=${valueString(JSON.parse(body))}]`;
        break;
      default:
        s += `[${body}]`;
    }
  }
  return s;
}

/** value.ToString: strings quoted (%q), the rest as JSON */
function valueString(v: unknown): string {
  return JSON.stringify(v);
}

// ---- ordering (fieldpath.PathElement.Compare) ------------------------------------

const RANK: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function typeRank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (v === null) return 5;
  return Array.isArray(v) ? 3 : 4;
}

/** value.Compare, for the scalars keys and sets hold */
function cmpValue(a: unknown, b: unknown): number {
  const ra = typeRank(a),
    rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number') return (a as number) - (b as number);
  if (typeof a === 'string') return cmpStr(a, b as string);
  if (typeof a === 'boolean') return Number(a) - Number(b);
  return cmpStr(JSON.stringify(a), JSON.stringify(b));
}

export function comparePE(a: string, b: string): number {
  const ta = a[0]!,
    tb = b[0]!;
  if (ta !== tb) return RANK[ta]! - RANK[tb]!;
  switch (ta) {
    case 'f':
      return cmpStr(a, b);
    case 'i':
      return Number(a.slice(2)) - Number(b.slice(2));
    case 'v':
      return cmpValue(JSON.parse(a.slice(2)), JSON.parse(b.slice(2)));
    default: {
      const ea = Object.entries(JSON.parse(a.slice(2)) as Record<string, unknown>);
      const eb = Object.entries(JSON.parse(b.slice(2)) as Record<string, unknown>);
      for (let i = 0; ; i++) {
        if (i >= ea.length || i >= eb.length) return ea.length - eb.length;
        const c = cmpStr(ea[i]![0], eb[i]![0]) || cmpValue(ea[i]![1], eb[i]![1]);
        if (c) return c;
      }
    }
  }
}

function sortedKeys(m: Map<string, FieldSet>): string[] {
  const keys = [...m.keys()];
  let fieldsOnly = true;
  for (const k of keys)
    if (k[0] !== 'f') {
      fieldsOnly = false;
      break;
    }
  return fieldsOnly ? keys.sort() : keys.sort(comparePE);
}

/**
 * f (a FieldsV1 object) without the members of s, walking only s's paths; f itself when
 * none of them is in f, undefined when nothing is left. Keeps f's key order.
 */
export function fieldsV1Minus(f: FieldsV1, s: FieldSet): FieldsV1 | undefined {
  if (!s.children) return f;
  let out: FieldsV1 | undefined;
  for (const [pe, c] of s.children) {
    if (!Object.hasOwn(f, pe)) continue;
    const sub = f[pe]!;
    let next: FieldsV1 | undefined = sub;
    let leaf = true;
    for (const k in sub)
      if (k !== '.') {
        leaf = false;
        break;
      }
    if (leaf) {
      // a member without children (or only `.`): gone if s names it, else nothing below to remove
      if (c.self) next = undefined;
    } else {
      if (c.children) next = fieldsV1Minus(sub, c);
      if (next && c.self && Object.hasOwn(next, '.')) {
        const { '.': _self, ...rest } = next;
        next = rest;
      }
      if (next) {
        let kids = false;
        for (const k in next)
          if (k !== '.') {
            kids = true;
            break;
          }
        // only `.` left: a plain member; nothing left: gone
        if (!kids) next = Object.hasOwn(next, '.') ? {} : undefined;
        else if (next !== sub && Object.keys(next).length === 0) next = undefined;
      }
    }
    if (next === sub) continue;
    out ??= { ...f };
    if (next === undefined) delete out[pe];
    else out[pe] = next;
  }
  if (!out) return f;
  for (const _ in out) return out;
  return undefined;
}
