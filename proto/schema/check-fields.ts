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

import { isRecord } from '../is-record.js';
import type { FieldSchema } from './types.js';
import { defs } from './defs.js';

export interface FieldCheckResult {
  /** unknown field paths, e.g. `spec.template.spec.containers[0].imagee` */
  unknown: string[];
  /** e.g. `spec.replicas: expected integer, got string` */
  typeErrors: string[];
}

/**
 * A value the apiserver's JSON decoder would refuse (wrong JSON type, an integer out of its
 * Go type's range, a number beyond float64), with what encoding/json reports about it.
 */
export interface TypeMismatch {
  /** path as in unknown-field reports: `spec.template.spec.containers[0].ports[0].containerPort` */
  path: string;
  /** the value as Go's decoder names it: `string`, `number 2147483648`, `object`, `array`, `bool` */
  value: string;
  /** the Go type of the field: `int32`, `int64`, `string`, `[]v1.Container`, ... */
  goType: string;
  /** the innermost Go struct holding the field (`DeploymentSpec`) and the field names to it (no indexes, no map keys) */
  goStruct: string;
  goField: string;
  /** the short form `checkFields` reports: `spec.replicas: expected integer, got string` */
  message: string;
  /** why, when the value fits the Go type but not what this server can store exactly */
  detail?: string;
}

/** encoding/json's error text for a mismatch, as kube-apiserver's decode error carries it. */
export function goDecodeError(m: TypeMismatch): string {
  if (m.detail) return `${m.path}: ${m.detail}`;
  const target = m.goStruct ? `Go struct field ${m.goStruct}.${m.goField}` : 'Go value';
  return `json: cannot unmarshal ${m.value} into ${target} of type ${m.goType}`;
}

/** Integer ranges of the Go types integer fields have. */
const INT_RANGE = {
  int32: { min: -(2 ** 31), max: 2 ** 31 - 1 },
  // int64 is -2^63..2^63-1, but a JS number holds integers exactly only to ±(2^53-1)
  int64: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
} as const;

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
    s !== undefined && s.t === 'object' && ['apiVersion', 'kind', 'metadata'].every((f) => Object.hasOwn(s.fields, f))
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
  const r = checkDecode(obj, kind);
  return { unknown: r.unknown, typeErrors: r.mismatches.map((m) => m.message) };
}

/**
 * Like `checkFields` (and also for object definitions that are not kinds), with each wrong value described as the apiserver's decoder reports
 * it (`goDecodeError`). Kinds without a schema are only checked for numbers no JSON
 * decoder can hold (beyond float64: `1e400` parses as Infinity).
 */
export function checkDecode(obj: unknown, kind: string): { unknown: string[]; mismatches: TypeMismatch[] } {
  const out: Walk = { unknown: [], mismatches: [] };
  // a kind, or another named definition (DeleteOptions, which has no metadata)
  const named = Object.hasOwn(defs, kind) ? defs[kind] : undefined;
  const schema = schemaFor(kind) ?? (named?.t === 'object' ? named : undefined);
  if (!schema) {
    checkFinite(obj, '', { struct: '', field: '' }, out);
    return out;
  }
  walk(obj, schema, '', { struct: kind, field: '' }, out);
  return out;
}

interface Walk {
  unknown: string[];
  mismatches: TypeMismatch[];
}

/** where encoding/json is: the innermost struct and the field names below it */
interface GoCtx {
  struct: string;
  field: string;
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

function goValue(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isFinite(v) ? `number ${String(v)}` : 'number beyond the range of float64';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/** the Go type name of a schema, as encoding/json prints it (`int32`, `[]v1.Container`) */
function goTypeOf(schema: FieldSchema): string {
  const name = schema.t === 'ref' ? schema.name : undefined;
  const s = resolve(schema);
  switch (s.t) {
    case 'string':
      return 'string';
    case 'int':
      return s.format ?? 'int64';
    case 'number':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'intOrString':
      return 'intstr.IntOrString';
    case 'quantity':
      return 'resource.Quantity';
    case 'time':
      return 'v1.Time';
    case 'any':
      return 'interface {}';
    case 'object':
      return name ? `v1.${goStructName(name)}` : 'struct';
    case 'map':
      return `map[string]${goTypeOf(s.values)}`;
    case 'list':
      return `[]${goTypeOf(s.items)}`;
    default:
      return 'interface {}';
  }
}

/** definitions whose name differs from their Go type's */
const GO_NAMES: Record<string, string> = { DiscoveryEndpointPort: 'EndpointPort' };

function goStructName(def: string): string {
  return Object.hasOwn(GO_NAMES, def) ? GO_NAMES[def]! : def;
}

function goChild(ctx: GoCtx, key: string): GoCtx {
  return { struct: ctx.struct, field: ctx.field === '' ? key : `${ctx.field}.${key}` };
}

function mismatch(
  out: Walk,
  path: string,
  ctx: GoCtx,
  schema: FieldSchema,
  expected: string,
  v: unknown,
  detail?: string,
): void {
  const p = path === '' ? '<root>' : path;
  out.mismatches.push({
    path: p,
    value: goValue(v),
    goType: goTypeOf(schema),
    goStruct: ctx.struct,
    goField: ctx.field,
    message: `${p}: expected ${expected}, got ${jsonType(v)}`,
    ...(detail ? { detail } : {}),
  });
}

/** an integer against its Go type: integral, finite and in range */
function checkInt(
  v: number,
  format: 'int32' | 'int64',
  path: string,
  ctx: GoCtx,
  schema: FieldSchema,
  out: Walk,
): void {
  if (!Number.isInteger(v)) {
    mismatch(out, path, ctx, schema, 'integer', v);
    return;
  }
  const r = INT_RANGE[format];
  if (v >= r.min && v <= r.max) return;
  if (format === 'int64' && v >= -(2 ** 63) && v < 2 ** 63) {
    mismatch(
      out,
      path,
      ctx,
      schema,
      format,
      v,
      `Invalid value: ${String(v)}: integers beyond ±9007199254740991 (2^53-1) cannot be stored exactly`,
    );
    return;
  }
  mismatch(out, path, ctx, schema, format, v);
}

/** free-form JSON: only numbers beyond float64 (JSON.parse gives ±Infinity) are wrong */
function checkFinite(v: unknown, path: string, ctx: GoCtx, out: Walk): void {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) mismatch(out, path, ctx, { t: 'number' }, 'number', v);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkFinite(x, `${path}[${i}]`, ctx, out));
    return;
  }
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) checkFinite(x, child(path, k), ctx, out);
}

function walk(v: unknown, schema: FieldSchema, path: string, ctx: GoCtx, out: Walk): void {
  if (v === null || v === undefined) return;
  const s = resolve(schema);
  switch (s.t) {
    case 'any':
      checkFinite(v, path, ctx, out);
      return;
    case 'string':
      if (typeof v !== 'string') mismatch(out, path, ctx, s, 'string', v);
      return;
    case 'int':
      if (typeof v !== 'number') mismatch(out, path, ctx, s, 'integer', v);
      else checkInt(v, s.format ?? 'int64', path, ctx, s, out);
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) mismatch(out, path, ctx, s, 'number', v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') mismatch(out, path, ctx, s, 'boolean', v);
      return;
    case 'intOrString':
      // IntOrString.IntVal is an int32
      if (typeof v === 'number' && Number.isInteger(v))
        checkInt(v, 'int32', path, ctx, { t: 'int', format: 'int32' }, out);
      else if (typeof v !== 'string') mismatch(out, path, ctx, s, 'integer or string', v);
      return;
    case 'quantity':
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
        mismatch(out, path, ctx, s, 'quantity (string or number)', v);
      }
      return;
    case 'time':
      if (typeof v !== 'string') mismatch(out, path, ctx, s, 'time (RFC 3339 string)', v);
      return;
    case 'object': {
      if (!isRecord(v)) {
        mismatch(out, path, ctx, schema, 'object', v);
        return;
      }
      // fields of a named definition are fields of that Go struct
      const inner: GoCtx = schema.t === 'ref' ? { struct: goStructName(schema.name), field: ctx.field } : ctx;
      for (const [key, value] of Object.entries(v)) {
        const p = child(path, key);
        if (!Object.hasOwn(s.fields, key)) {
          out.unknown.push(p);
          continue;
        }
        walk(value, s.fields[key]!, p, goChild(inner, key), out);
      }
      return;
    }
    case 'map':
      if (!isRecord(v)) {
        mismatch(out, path, ctx, schema, 'object (map)', v);
        return;
      }
      for (const [key, value] of Object.entries(v)) walk(value, s.values, child(path, key), ctx, out);
      return;
    case 'list':
      if (!Array.isArray(v)) {
        mismatch(out, path, ctx, schema, 'array', v);
        return;
      }
      v.forEach((item, i) => walk(item, s.items, `${path}[${i}]`, ctx, out));
      return;
    case 'ref': // resolve() never returns a ref
      return;
  }
}
