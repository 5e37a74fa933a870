// Unknown-field and JSON-type checking against the field schemas in ./defs.ts, as
// kube-apiserver's strict decoding does for fieldValidation=Strict/Warn.
//
// Unknown field paths are reported the way the apiserver's strict decoder
// (sigs.k8s.io/json) spells them: field names joined by '.', list indexes as `[i]`,
// map keys as `.key`; e.g. `spec.template.spec.containers[0].imagee`. The caller
// formats them (`strict decoding error: unknown field "<path>"`, or one warning each).
//
// Rules: `null` is allowed anywhere (it means unset); `intOrString` takes an integer or
// a string; `quantity` a string or a number; `time` a string; `any` is not inspected.
// A value of the wrong JSON type is reported once and not descended into.
// Pure functions, no I/O.

import type { FieldSchema } from './types.js';
import { defs } from './defs.js';

export interface FieldCheckResult {
  /** unknown field paths, e.g. `spec.template.spec.containers[0].imagee` */
  unknown: string[];
  /** e.g. `spec.replicas: expected integer, got string` */
  typeErrors: string[];
}

/** Follows `ref`s to the named definition they point at. */
export function resolve(s: FieldSchema): FieldSchema {
  let cur = s;
  for (let hops = 0; cur.t === 'ref'; hops++) {
    const next = Object.hasOwn(defs, cur.name) ? defs[cur.name] : undefined;
    if (!next) throw new Error(`schema: no definition named ${JSON.stringify(cur.name)}`);
    if (hops > 64) throw new Error(`schema: reference cycle at ${JSON.stringify(cur.name)}`);
    cur = next;
  }
  return cur;
}

const listSchemas = new Map<string, FieldSchema>();

function isKindSchema(s: FieldSchema | undefined): s is FieldSchema & { t: 'object' } {
  return (
    s !== undefined &&
    s.t === 'object' &&
    ['apiVersion', 'kind', 'metadata'].every((f) => Object.hasOwn(s.fields, f))
  );
}

/**
 * The schema of a top-level kind (`Deployment`, `Pod`, ...), or of its list
 * (`DeploymentList`: apiVersion, kind, metadata as ListMeta, items). `undefined` for
 * kinds without a schema (custom resources, ...): those are not checked.
 */
export function schemaFor(kind: string): FieldSchema | undefined {
  const direct = Object.hasOwn(defs, kind) ? defs[kind] : undefined;
  if (isKindSchema(direct)) return direct;
  if (kind.endsWith('List')) {
    const item = kind.slice(0, -'List'.length);
    const itemSchema = Object.hasOwn(defs, item) ? defs[item] : undefined;
    if (!isKindSchema(itemSchema)) return undefined;
    let s = listSchemas.get(kind);
    if (!s) {
      s = {
        t: 'object',
        fields: {
          apiVersion: { t: 'string' },
          kind: { t: 'string' },
          metadata: { t: 'ref', name: 'ListMeta' },
          items: { t: 'list', items: { t: 'ref', name: item } },
        },
      };
      listSchemas.set(kind, s);
    }
    return s;
  }
  return undefined;
}

/** Checks `obj` (parsed JSON) against the schema of `kind`. Unknown kinds check clean. */
export function checkFields(obj: unknown, kind: string): FieldCheckResult {
  const result: FieldCheckResult = { unknown: [], typeErrors: [] };
  const schema = schemaFor(kind);
  if (!schema) return result;
  walk(obj, schema, '', result);
  return result;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : `number ${String(v)}`;
  if (typeof v === 'boolean') return 'boolean';
  return typeof v; // 'string' | 'object' (| 'undefined' etc. for non-JSON input)
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function typeError(out: FieldCheckResult, path: string, expected: string, v: unknown): void {
  out.typeErrors.push(`${path === '' ? '<root>' : path}: expected ${expected}, got ${jsonType(v)}`);
}

function walk(v: unknown, schema: FieldSchema, path: string, out: FieldCheckResult): void {
  if (v === null || v === undefined) return;
  const s = resolve(schema);
  switch (s.t) {
    case 'any':
      return;
    case 'string':
      if (typeof v !== 'string') typeError(out, path, 'string', v);
      return;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) typeError(out, path, 'integer', v);
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) typeError(out, path, 'number', v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') typeError(out, path, 'boolean', v);
      return;
    case 'intOrString':
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) {
        typeError(out, path, 'integer or string', v);
      }
      return;
    case 'quantity':
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
        typeError(out, path, 'quantity (string or number)', v);
      }
      return;
    case 'time':
      if (typeof v !== 'string') typeError(out, path, 'time (RFC 3339 string)', v);
      return;
    case 'object':
      if (!isPlainObject(v)) {
        typeError(out, path, 'object', v);
        return;
      }
      for (const [key, value] of Object.entries(v)) {
        const p = child(path, key);
        if (!Object.hasOwn(s.fields, key)) {
          out.unknown.push(p);
          continue;
        }
        walk(value, s.fields[key]!, p, out);
      }
      return;
    case 'map':
      if (!isPlainObject(v)) {
        typeError(out, path, 'object (map)', v);
        return;
      }
      for (const [key, value] of Object.entries(v)) walk(value, s.values, child(path, key), out);
      return;
    case 'list':
      if (!Array.isArray(v)) {
        typeError(out, path, 'array', v);
        return;
      }
      v.forEach((item, i) => walk(item, s.items, `${path}[${i}]`, out));
      return;
    case 'ref': // resolve() never returns a ref
      return;
  }
}
