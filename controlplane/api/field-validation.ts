// fieldValidation=Strict|Warn|Ignore as kube-apiserver applies it: unknown fields are
// an error (Strict), a warning (Warn, the default) or silently dropped (Ignore); in
// every case they are pruned before storage, as decoding into typed structs does.
// Wrong JSON types are always a 400, like a failed decode.
import type { KubeObject } from '../../proto/meta.js';
import { checkFields, resolve, schemaFor } from '../../proto/schema/check-fields.js';
import type { FieldSchema } from '../../proto/schema/types.js';
import type { ResourceDef } from '../resources/types.js';
import { badRequest } from './errors.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function parseFieldValidation(v: unknown): FieldValidation {
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got ${JSON.stringify(v)}`);
}

export function checkBody(def: ResourceDef, obj: KubeObject, opts: { fieldValidation?: FieldValidation; warnings?: string[] }): void {
  const r = checkFields(obj, def.kind);
  if (r.typeErrors.length) {
    throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${r.typeErrors.join('; ')}`);
  }
  if (!r.unknown.length) return;
  const mode = opts.fieldValidation ?? 'Warn';
  if (mode === 'Strict') {
    const list = r.unknown.map((p) => `unknown field "${p}"`);
    throw badRequest(`strict decoding error: ${list.join(', ')}`);
  }
  if (mode === 'Warn') for (const p of r.unknown) opts.warnings?.push(`unknown field "${p}"`);
  const schema = schemaFor(def.kind);
  if (schema) prune(obj, schema);
}

/** drop fields the schema does not know (in place) */
function prune(v: unknown, schema: FieldSchema): void {
  if (v === null || typeof v !== 'object') return;
  const s = resolve(schema);
  if (s.t === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const f = s.fields[k];
      if (!f) delete o[k];
      else prune(o[k], f);
    }
  } else if (s.t === 'map' && !Array.isArray(v)) {
    for (const x of Object.values(v as Record<string, unknown>)) prune(x, s.values);
  } else if (s.t === 'list' && Array.isArray(v)) {
    for (const x of v) prune(x, s.items);
  }
}
