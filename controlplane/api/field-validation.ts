// fieldValidation=Strict|Warn|Ignore as kube-apiserver applies it: unknown fields are
// an error (Strict), a warning (Warn, the default) or silently dropped (Ignore); in
// every case they are pruned before storage, as decoding into typed structs does.
// Wrong JSON types, integers outside their Go type (int32/int64) and numbers beyond
// float64 are always a 400 with encoding/json's words, like a failed decode:
// `Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal
// number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32`.
// Unknown fields include `__proto__`, `constructor` and the like: they are pruned as
// own properties, never looked up through the prototype chain.
import type { KubeObject } from '../../proto/meta.js';
import { checkDecode, goDecodeError, resolve, schemaFor } from '../../proto/schema/check-fields.js';
import type { FieldSchema } from '../../proto/schema/types.js';
import type { ResourceDef } from '../resources/types.js';
import { badRequest } from './errors.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function parseFieldValidation(v: unknown): FieldValidation {
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got ${JSON.stringify(v)}`);
}

/**
 * The decode check alone: a 400 for the first value of a wrong type or out of its Go
 * type's range (encoding/json reports the first error it meets). `kind` names a kind or
 * another definition of proto/schema/defs.ts (DeleteOptions, Scale).
 */
export function checkTypes(kind: string, version: string, obj: unknown): ReturnType<typeof checkDecode> {
  const r = checkDecode(obj, kind);
  const first = r.mismatches[0];
  if (first)
    throw badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${goDecodeError(first)}`);
  return r;
}

export function checkBody(
  def: ResourceDef,
  obj: KubeObject,
  opts: { fieldValidation?: FieldValidation; warnings?: string[] },
): void {
  // custom resources: the CRD's schema says what is unknown, and its defaulting prunes it
  const r = def.custom ? { unknown: def.custom.unknownFields(obj) } : checkTypes(def.kind, def.version, obj);
  if (!r.unknown.length) return;
  const mode = opts.fieldValidation ?? 'Warn';
  if (mode === 'Strict') {
    const list = r.unknown.map((p) => `unknown field "${p}"`);
    const prefix = def.custom ? `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ` : '';
    throw badRequest(`${prefix}strict decoding error: ${list.join(', ')}`);
  }
  if (mode === 'Warn') for (const p of r.unknown) opts.warnings?.push(`unknown field "${p}"`);
  const schema = def.custom ? undefined : schemaFor(def.kind);
  if (schema) prune(obj, schema);
}

/** drop fields the schema does not know (in place) */
function prune(v: unknown, schema: FieldSchema): void {
  if (v === null || typeof v !== 'object') return;
  const s = resolve(schema);
  if (s.t === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      // hasOwn: `__proto__`, `constructor`, `toString` are unknown fields like any other
      if (!Object.hasOwn(s.fields, k)) delete o[k];
      else prune(o[k], s.fields[k]!);
    }
  } else if (s.t === 'map' && !Array.isArray(v)) {
    for (const x of Object.values(v as Record<string, unknown>)) prune(x, s.values);
  } else if (s.t === 'list' && Array.isArray(v)) {
    for (const x of v) prune(x, s.items);
  }
}
