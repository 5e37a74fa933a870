// metadata.managedFields, as kube-apiserver's fieldmanager keeps them: decoding the
// entries into per-manager field sets (one per manager + operation + subresource, and per
// apiVersion for Update), the Update rule (a writer takes the fields it changed; others lose
// them and the fields it removed), the Apply rule (the applier owns exactly its applied
// configuration; fields it stopped applying are pruned unless someone else owns them;
// fields others own and the apply changes are conflicts unless forced), the first apply
// onto an untracked object ("before-first-apply"), at most 10 Update managers (the oldest
// merged into "ancient-changes"), kubectl's client-side to server-side upgrade
// (last-applied.ts), the reset rule (`managedFields: []`) and the encoding
// back to sorted entries. Pure: the caller supplies the time.
import { ApiError } from '../errors.js';
import {
  FieldSet,
  FieldsV1Error,
  difference,
  fieldsV1Minus,
  fieldsV1Of,
  fromFieldsV1,
  intersection,
  pathString,
  union,
  type FieldsV1,
} from './fieldset.js';
import type { Typed } from './typed.js';
import { KUBECTL_MANAGER, allowedFromLastApplied, syncLastApplied } from './last-applied.js';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: FieldsV1;
  subresource?: string;
}

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource: string;
  time: string | undefined;
  set: FieldSet;
  /** the entry as decoded, reused while the set is unchanged */
  orig?: ManagedFieldsEntry;
}

export type Managers = Map<string, Manager>;

export const BEFORE_FIRST_APPLY = 'before-first-apply';
export const ANCIENT_CHANGES = 'ancient-changes';
export const MAX_UPDATE_MANAGERS = 10;

export function managerId(m: { manager: string; operation: string; apiVersion: string; subresource: string }): string {
  // BuildManagerIdentifier: appliers are one manager whatever apiVersion they used
  return `${m.operation}\u0000${m.manager}\u0000${m.operation === 'Apply' ? '' : m.apiVersion}\u0000${m.subresource}`;
}

/** DecodeManagedFields: undefined when the entries are not valid managed fields */
export function decodeManagers(entries: unknown): Managers | undefined {
  const out: Managers = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) return undefined;
  for (const e of entries) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return undefined;
    const x = e as Record<string, unknown>;
    if (x.operation !== 'Apply' && x.operation !== 'Update') return undefined;
    if (typeof x.apiVersion !== 'string' || !x.apiVersion) return undefined;
    if (x.fieldsType !== 'FieldsV1') return undefined;
    if (x.manager !== undefined && typeof x.manager !== 'string') return undefined;
    if (x.subresource !== undefined && typeof x.subresource !== 'string') return undefined;
    if (x.time !== undefined && x.time !== null && typeof x.time !== 'string') return undefined;
    let set: FieldSet;
    try {
      set = fromFieldsV1(x.fieldsV1 ?? {});
    } catch (err) {
      if (err instanceof FieldsV1Error) return undefined;
      throw err;
    }
    const m: Manager = {
      manager: (x.manager as string | undefined) ?? '',
      operation: x.operation,
      apiVersion: x.apiVersion,
      subresource: (x.subresource as string | undefined) ?? '',
      time: (x.time as string | null | undefined) ?? undefined,
      set,
      orig: e as ManagedFieldsEntry,
    };
    out.set(managerId(m), m);
  }
  return out;
}

/** isResetManagedFields: `[]` or `[{}]` */
export function isReset(entries: unknown): boolean {
  if (!Array.isArray(entries)) return false;
  if (entries.length === 0) return true;
  return (
    entries.length === 1 &&
    typeof entries[0] === 'object' &&
    entries[0] !== null &&
    Object.keys(entries[0] as object).length === 0
  );
}

/** the entries, sorted as sortEncodedManagedFields; undefined when there are none */
export function encodeManagers(ms: Managers): ManagedFieldsEntry[] | undefined {
  if (ms.size === 0) return undefined;
  const out: ManagedFieldsEntry[] = [];
  for (const m of ms.values()) {
    if (m.orig && m.orig.fieldsV1 !== undefined && m.orig.time === m.time) {
      out.push(m.orig);
      continue;
    }
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
    if (m.time !== undefined) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = m.orig?.fieldsV1 ?? fieldsV1Of(m.set);
    if (m.subresource) e.subresource = m.subresource;
    out.push(e);
  }
  return sortEntries(out);
}

function sortEntries(out: ManagedFieldsEntry[]): ManagedFieldsEntry[] | undefined {
  if (out.length === 0) return undefined;
  const secs = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  out.sort((p, q) => {
    if (p.operation !== q.operation) return p.operation! < q.operation! ? -1 : 1;
    const ps = secs(p.time),
      qs = secs(q.time);
    if (ps !== qs) return ps - qs;
    if (p.manager !== q.manager) return p.manager! < q.manager! ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion! < q.apiVersion! ? -1 : 1;
    const a = p.subresource ?? '',
      b = q.subresource ?? '';
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return out;
}

/** true when two entry lists differ at most in their times (IgnoreManagedFieldsTimestampsTransformer) */
export function sameIgnoringTimes(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  const key = (e: unknown) => {
    const { time: _t, ...rest } = e as ManagedFieldsEntry;
    return JSON.stringify(rest);
  };
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.every((k, i) => k === right[i]);
}

function setSet(m: Manager, set: FieldSet): void {
  if (m.set === set) return;
  m.set = set;
  m.orig = undefined;
}

export interface Who {
  manager: string;
  apiVersion: string;
  subresource: string;
}

/**
 * The Update rule (merge.Updater.Update run under "current-operation", then merged into the
 * writer's entry by managedFieldsUpdater): fields lhs→rhs changed are taken from everyone
 * else, removed fields are dropped from every set, and when the write changed anything the
 * writer's entry gains those fields and the time `now`.
 */
export function updateManagers(
  typed: Typed,
  lhs: unknown,
  rhs: unknown,
  ms: Managers,
  who: Who,
  now: string,
  fromZero = false,
): Managers {
  const c = typed.compare(lhs, rhs, fromZero);
  const changed = union(c.added, c.modified);
  for (const [id, m] of ms) {
    let s = m.set;
    if (!changed.empty()) s = difference(s, changed);
    if (!c.removed.empty()) s = difference(s, c.removed);
    setSet(m, s);
    if (s.empty()) ms.delete(id);
  }
  if (!changed.empty()) {
    const me: Manager = {
      manager: who.manager,
      operation: 'Update',
      apiVersion: who.apiVersion,
      subresource: who.subresource,
      time: now,
      set: changed,
    };
    const id = managerId(me);
    const prev = ms.get(id);
    if (prev) me.set = union(changed, prev.set);
    ms.set(id, me);
  }
  return capManagers(ms);
}

/**
 * The Update rule on entries as stored (already valid and sorted), for the hot path of
 * every write: only the sets the change touches are rewritten, walking the changed paths
 * (fieldsV1Minus), and only the writer's own entry is decoded. `changed`/`removed` come
 * from Typed.compare; undefined when nothing is left.
 */
export function updateEntries(
  entries: readonly ManagedFieldsEntry[],
  changed: FieldSet,
  removed: FieldSet,
  who: Who,
  now: string,
): ManagedFieldsEntry[] | undefined {
  const me = {
    manager: who.manager,
    operation: 'Update' as const,
    apiVersion: who.apiVersion,
    subresource: who.subresource,
  };
  const myId = managerId(me);
  let mine: FieldSet | undefined;
  const out: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    let f: FieldsV1 | undefined = e.fieldsV1 ?? {};
    if (!changed.empty()) f = fieldsV1Minus(f, changed);
    if (f && !removed.empty()) f = fieldsV1Minus(f, removed);
    if (
      managerId({
        manager: e.manager ?? '',
        operation: e.operation ?? 'Update',
        apiVersion: e.apiVersion ?? '',
        subresource: e.subresource ?? '',
      }) === myId
    ) {
      if (!changed.empty()) {
        mine = f ? fromFieldsV1(f) : undefined;
        continue;
      }
    }
    if (!f) continue;
    out.push(f === e.fieldsV1 ? e : { ...e, fieldsV1: f });
  }
  if (!changed.empty()) {
    const set = mine ? union(changed, mine) : changed;
    const e: ManagedFieldsEntry = {
      manager: who.manager,
      operation: 'Update',
      apiVersion: who.apiVersion,
      time: now,
      fieldsType: 'FieldsV1',
      fieldsV1: fieldsV1Of(set),
    };
    if (who.subresource) e.subresource = who.subresource;
    out.push(e);
  }
  if (out.filter((e) => e.operation === 'Update').length > MAX_UPDATE_MANAGERS) {
    return encodeManagers(capManagers(decodeManagers(out) ?? new Map()));
  }
  return sortEntries(out);
}

/** capManagersManager: past MAX_UPDATE_MANAGERS Update entries, the oldest go into "ancient-changes" */
function capManagers(ms: Managers): Managers {
  const updates = [...ms.entries()].filter(([, m]) => m.operation === 'Update');
  if (updates.length <= MAX_UPDATE_MANAGERS) return ms;
  updates.sort(([, a], [, b]) => ((a.time ?? '') < (b.time ?? '') ? -1 : (a.time ?? '') > (b.time ?? '') ? 1 : 0));
  for (const [id, m] of updates.slice(0, updates.length - MAX_UPDATE_MANAGERS + 1)) {
    if (m.manager === ANCIENT_CHANGES) continue;
    ms.delete(id);
    const ancient: Manager = {
      manager: ANCIENT_CHANGES,
      operation: 'Update',
      apiVersion: m.apiVersion,
      subresource: '',
      time: m.time,
      set: m.set,
    };
    const aid = managerId(ancient);
    const prev = ms.get(aid);
    if (prev) {
      ancient.set = union(prev.set, m.set);
      ancient.time = prev.time;
    }
    ms.set(aid, ancient);
  }
  return ms;
}

export interface ApplyResult {
  object: Record<string, unknown>;
  managers: Managers;
}

/**
 * The Apply rule (merge.Updater.Apply): `merged` is the live object with the configuration
 * merged in; the applier's set becomes the configuration's, what it applied last time and
 * not now is pruned unless another manager owns it, then the change live→result is checked
 * against the other managers: a field they own that changes is a conflict (409) unless
 * `force`, which takes it from them. Throws the 409 ApiError.
 */
export function applyManagers(
  typed: Typed,
  live: Record<string, unknown> | undefined,
  config: unknown,
  merged: Record<string, unknown>,
  ms: Managers,
  who: Who,
  force: boolean,
  now: string,
): ApplyResult {
  if (ms.size === 0 && live) {
    // skipNonAppliedManager: the first apply onto an object without managed fields
    ms = updateManagers(
      typed,
      undefined,
      live,
      ms,
      { manager: BEFORE_FIRST_APPLY, apiVersion: who.apiVersion, subresource: who.subresource },
      now,
      true,
    );
  }
  const me: Manager = {
    manager: who.manager,
    operation: 'Apply',
    apiVersion: who.apiVersion,
    subresource: who.subresource,
    time: now,
    set: typed.toFieldSet(config, merged),
  };
  const id = managerId(me);
  const last = ms.get(id);
  ms.set(id, me);
  let object = merged;
  if (last && !last.set.empty()) {
    let owned = new FieldSet();
    for (const m of ms.values()) owned = union(owned, m.set);
    const prune = difference(last.set, owned);
    if (!prune.empty()) typed.removeItems((object = structuredClone(merged)), prune);
  }
  const c = typed.compare(live, object);
  const changed = union(c.added, c.modified);
  const conflicts: { manager: Manager; set: FieldSet }[] = [];
  for (const [mid, m] of ms) {
    if (mid === id) continue;
    const x = intersection(m.set, changed);
    if (!x.empty()) conflicts.push({ manager: m, set: x });
  }
  if (conflicts.length && !force) {
    // lastAppliedManager: kubectl upgrading from client-side apply may take what its annotation holds
    const allowed = who.manager === KUBECTL_MANAGER ? allowedFromLastApplied(typed, live, who.apiVersion) : undefined;
    if (!allowed) throw conflictError(conflicts);
    const rest = conflicts
      .map((x) => ({ manager: x.manager, set: difference(x.set, allowed) }))
      .filter((x) => !x.set.empty());
    if (rest.length) throw conflictError(rest);
  }
  for (const x of conflicts) setSet(x.manager, difference(x.manager.set, x.set));
  if (!c.removed.empty()) for (const [mid, m] of ms) if (mid !== id) setSet(m, difference(m.set, c.removed));
  for (const [mid, m] of ms) if (m.set.empty()) ms.delete(mid);
  if (who.manager === KUBECTL_MANAGER) syncLastApplied(object, config);
  return { object, managers: ms };
}

/** printManager: `"name"`, with `with subresource "status"`, and `using <apiVersion>` for an Update */
function printManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

/** internal.NewConflictError: 409 Conflict with FieldManagerConflict causes */
export function conflictError(conflicts: { manager: Manager; set: FieldSet }[]): ApiError {
  const list: { who: string; path: string }[] = [];
  for (const x of conflicts) x.set.forEach((p) => list.push({ who: printManager(x.manager), path: pathString(p) }));
  let message: string;
  if (list.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${list[0]!.who}: ${list[0]!.path}`;
  } else {
    const by = new Map<string, string[]>();
    for (const c of list) {
      const a = by.get(c.who) ?? [];
      a.push(c.path);
      by.set(c.who, a);
    }
    const lines: string[] = [];
    for (const who of [...by.keys()].sort()) {
      lines.push(`conflicts with ${who}:`);
      for (const p of by.get(who)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${list.length} conflicts: ${lines.join('\n')}`;
  }
  const causes = list.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${c.who}`,
    field: c.path,
  }));
  return new ApiError(409, 'Conflict', message, { causes });
}
