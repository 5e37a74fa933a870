// The shape of a CEL value for type inference and cost estimation: its CEL type, its largest
// size (string length, list items, map entries) and the shapes inside it. Built from a
// structural schema (maxLength/maxItems/maxProperties, else the bound a 3 MiB request allows,
// as apiextensions' estimated cost does) or from a concrete value (its real sizes).
import { additionalSchema, isRecord, type JSONSchemaProps } from '../schema-types.js';

export type CelKind =
  | 'bool'
  | 'int'
  | 'double'
  | 'string'
  | 'bytes'
  | 'list'
  | 'map'
  | 'object'
  | 'dyn'
  | 'null'
  | 'timestamp'
  | 'duration';

export interface Shape {
  kind: CelKind;
  /** largest size: characters of a string, items of a list, entries of a map or object */
  len: number;
  elem?: Shape;
  /** the declared fields of an object (their CEL names); open when additional/unknown fields are allowed */
  fields?: Record<string, Shape>;
  open?: boolean;
}

/** apiserver's maxRequestSizeBytes: the bound of any unbounded list, map or string */
export const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

export const DYN: Shape = { kind: 'dyn', len: MAX_REQUEST_BYTES };
export const scalar = (kind: CelKind, len = 0): Shape => ({ kind, len });

/** the smallest JSON a value of this schema serializes to (upstream's minSerializedSize) */
function minSize(s: JSONSchemaProps | undefined): number {
  if (!s) return 1;
  if (s['x-kubernetes-int-or-string']) return 1;
  switch (s.type) {
    case 'string':
      return 2;
    case 'boolean':
      return 4;
    case 'array':
    case 'object':
      return 2;
    default:
      return 1;
  }
}

const bound = (max: number | undefined, elemMin: number): number =>
  typeof max === 'number' ? max : Math.floor((MAX_REQUEST_BYTES - 2) / (elemMin + 1));

/** the CEL name of a property (upstream's escaping): `x-y` → `x__dash__y`, `in` → `__in__` */
const RESERVED = new Set([
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);
export function celName(prop: string): string | undefined {
  if (RESERVED.has(prop)) return `__${prop}__`;
  const escaped = prop
    .replace(/__/g, '__underscores__')
    .replace(/\./g, '__dot__')
    .replace(/-/g, '__dash__')
    .replace(/\//g, '__slash__');
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(escaped) ? escaped : undefined;
}

export function shapeOfSchema(s: JSONSchemaProps | undefined, root = false): Shape {
  if (!s) return DYN;
  if (s['x-kubernetes-int-or-string']) return { kind: 'dyn', len: MAX_REQUEST_BYTES - 2 };
  switch (s.type) {
    case 'boolean':
      return scalar('bool');
    case 'integer':
      return scalar('int');
    case 'number':
      return scalar('double');
    case 'string': {
      const len = typeof s.maxLength === 'number' ? s.maxLength : MAX_REQUEST_BYTES - 2;
      if (s.format === 'duration') return scalar('duration', len);
      if (s.format === 'date' || s.format === 'date-time') return scalar('timestamp', len);
      if (s.format === 'byte') return scalar('bytes', len);
      return scalar('string', len);
    }
    case 'array': {
      const items = isRecord(s.items) ? s.items : undefined;
      return { kind: 'list', len: bound(s.maxItems, minSize(items)), elem: shapeOfSchema(items) };
    }
    case 'object': {
      const add = additionalSchema(s);
      if (add) return { kind: 'map', len: bound(s.maxProperties, minSize(add) + 4), elem: shapeOfSchema(add) };
      const fields: Record<string, Shape> = {};
      for (const [k, v] of Object.entries(isRecord(s.properties) ? s.properties : {})) {
        const n = celName(k);
        if (n) fields[n] = shapeOfSchema(v);
      }
      if (root) {
        fields.apiVersion = scalar('string', 256);
        fields.kind = scalar('string', 256);
        fields.metadata = {
          kind: 'object',
          len: 2,
          fields: { name: scalar('string', 253), generateName: scalar('string', 253) },
        };
      }
      const open = s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-embedded-resource'] === true;
      return { kind: 'object', len: Object.keys(fields).length, fields, open };
    }
    default:
      return DYN;
  }
}

/** the shape of a concrete (already converted) value: its real sizes, for runtime cost */
export function shapeOfValue(v: unknown): Shape {
  if (typeof v === 'string') return scalar('string', v.length);
  if (typeof v === 'bigint') return scalar('int');
  if (typeof v === 'number') return scalar('double');
  if (typeof v === 'boolean') return scalar('bool');
  if (Array.isArray(v)) return { kind: 'list', len: v.length, elem: mergeShapes(v.map(shapeOfValue)) };
  if (isRecord(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
    const fields: Record<string, Shape> = {};
    for (const [k, x] of Object.entries(v)) fields[k] = shapeOfValue(x);
    return { kind: 'map', len: Object.keys(v).length, elem: mergeShapes(Object.values(fields)), fields, open: true };
  }
  return v === null || v === undefined ? scalar('null') : scalar('dyn', 64);
}

/** the largest of several shapes (the element shape of a list of values) */
export function mergeShapes(shapes: Shape[]): Shape {
  if (!shapes.length) return scalar('dyn');
  return shapes.reduce((a, b) => {
    const kind = a.kind === b.kind ? a.kind : 'dyn';
    const out: Shape = { kind, len: Math.max(a.len, b.len) };
    if (a.elem || b.elem) out.elem = mergeShapes([a.elem, b.elem].filter((x): x is Shape => !!x));
    if (a.fields || b.fields) {
      const fields: Record<string, Shape> = { ...a.fields };
      for (const [k, s] of Object.entries(b.fields ?? {})) fields[k] = fields[k] ? mergeShapes([fields[k], s]) : s;
      out.fields = fields;
      out.open = true;
    }
    return out;
  });
}
