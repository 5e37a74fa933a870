// The write path's side of managedFields (kube-apiserver's FieldManager as its create,
// update and patch handlers call it): which entries a write starts from (the live
// object's; the request's when it sends valid ones; none after a reset `[]`), who the
// manager is, and the entries the write leaves. storage.ts calls onCreate/onUpdate after
// defaulting (so defaulted fields are owned, as upstream's decoder defaults before the
// field manager runs) and onApply inside the apply patch's read-modify-write.
import type { KubeObject } from '../../../proto/meta.js';
import { resolve, schemaFor } from '../../../proto/schema/check-fields.js';
import type { ResourceDef } from '../../resources/types.js';
import { apiVersionOf } from '../keys.js';
import {
  applyManagers,
  decodeManagers,
  encodeManagers,
  isReset,
  updateEntries,
  updateManagers,
  type ManagedFieldsEntry,
  type Managers,
} from './managers.js';
import { union } from './fieldset.js';
import { Typed } from './typed.js';
import { sameValue } from '../same-value.js';

interface TrackOptions {
  force?: boolean;
  applyConfig?: unknown;
  applied?: { entries?: unknown[] };
  managedSubresource?: string;
}

export class ManagedFieldsTracker {
  private readonly cache = new WeakMap<ResourceDef, { main: Typed; whole: Typed }>();

  constructor(private readonly now: () => string) {}

  /** the kind's typed view; `main`: writes through the main resource, where status is not tracked */
  typed(def: ResourceDef, main: boolean): Typed {
    let t = this.cache.get(def);
    if (!t) {
      const schema = def.custom ? def.custom.applySchema : schemaFor(def.kind);
      t = {
        main: new Typed({ resolve, schema, ignoreStatus: !!def.hasStatusSubresource }),
        whole: new Typed({ resolve, schema }),
      };
      this.cache.set(def, t);
    }
    return main ? t.main : t.whole;
  }

  onCreate(
    def: ResourceDef,
    obj: KubeObject,
    sent: unknown,
    manager: string,
    opts: TrackOptions,
  ): ManagedFieldsEntry[] | undefined {
    const who = { manager, apiVersion: apiVersionOf(def), subresource: '' };
    const typed = this.typed(def, true);
    const now = this.now();
    if (opts.applyConfig !== undefined) {
      return encodeManagers(
        applyManagers(
          typed,
          undefined,
          opts.applyConfig,
          obj as unknown as Record<string, unknown>,
          new Map(),
          who,
          !!opts.force,
          now,
        ).managers,
      );
    }
    // a create is always tracked; valid entries it sends are kept (the reset [] keeps none)
    const base: Managers = isReset(sent) ? new Map() : (decodeManagers(sent) ?? new Map());
    if (base.size === 0) {
      const fieldsV1 = typed.createdFieldsV1(obj);
      return (
        fieldsV1 && [
          { manager, operation: 'Update', apiVersion: who.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1 },
        ]
      );
    }
    return encodeManagers(updateManagers(typed, undefined, obj, base, who, now, true));
  }

  onUpdate(
    def: ResourceDef,
    cur: KubeObject,
    next: KubeObject,
    sent: unknown,
    manager: string,
    opts: TrackOptions,
    subresource: 'status' | 'binding' | undefined,
  ): unknown[] | undefined {
    // the scheduler's binding is not a field manager's write (the Binding REST updates the pod itself)
    if (subresource === 'binding') return cur.metadata.managedFields;
    if (opts.applied) return opts.applied.entries;
    const sub = subresource ?? opts.managedSubresource ?? '';
    const live = cur.metadata.managedFields as ManagedFieldsEntry[] | undefined;
    let base: readonly ManagedFieldsEntry[] | undefined = live; // stored entries: valid and sorted
    if (sub)
      base = live; // a subresource cannot set managedFields
    else if (isReset(sent)) base = undefined;
    else if (sent !== undefined && !sameValue(sent, live)) {
      // entries the request sets replace the live ones when valid; absent or invalid, the
      // live object's stay (clients that drop managedFields do not erase them)
      const d = decodeManagers(sent);
      if (d && d.size > 0) base = encodeManagers(d);
    }
    // skipNonAppliedManager: an update of an object without managed fields stays untracked
    if (!base || base.length === 0) return undefined;
    const c = this.typed(def, subresource !== 'status').compare(cur, next);
    const changed = union(c.added, c.modified);
    if (changed.empty() && c.removed.empty()) return base as ManagedFieldsEntry[];
    return updateEntries(
      base,
      changed,
      c.removed,
      { manager, apiVersion: apiVersionOf(def), subresource: sub },
      this.now(),
    );
  }

  onApply(
    def: ResourceDef,
    cur: KubeObject,
    config: unknown,
    merged: KubeObject,
    manager: string,
    opts: TrackOptions,
    subresource: 'status' | undefined,
  ): { object: KubeObject; entries: ManagedFieldsEntry[] | undefined } {
    const who = { manager, apiVersion: apiVersionOf(def), subresource: subresource ?? '' };
    const base = decodeManagers(cur.metadata.managedFields) ?? new Map();
    const r = applyManagers(
      this.typed(def, subresource !== 'status'),
      cur as unknown as Record<string, unknown>,
      config,
      merged as unknown as Record<string, unknown>,
      base,
      who,
      !!opts.force,
      this.now(),
    );
    return { object: r.object as unknown as KubeObject, entries: encodeManagers(r.managers) };
  }
}
