// Validates a custom resource against its structural schema as kube-openapi's validator
// does for apiextensions-apiserver, with the field errors its kubeOpenAPIResultToFieldErrors
// makes of them: `spec.replicas: Invalid value: "string": spec.replicas in body must be of
// type integer: "string"`, `spec.x: Unsupported value: "a": supported values: "b"`,
// `spec.cronSpec: Required value`, `spec.image: Too long: may not be more than 5 bytes`.
import type { StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { additionalSchema, childPath, isRecord, type JSONSchemaProps } from './schema-types.js';
import { formatError } from './formats.js';
import { compilePattern } from './pattern.js';

/** the JSON type name go-openapi reports for a value */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  return typeof v;
}

function typeOk(want: string, v: unknown): boolean {
  const t = typeName(v);
  if (want === 'number') return t === 'number' || t === 'integer';
  return t === want;
}

/** Go's %v of a number in a limit (1 → "1", 1.5 → "1.5") */
const num = (n: number): string => String(n);

const invalid = (path: string, value: unknown, detail: string): StatusCause => field.invalid(path, value, detail);

/** go-openapi's subject: `spec.replicas in body`, or `in body` for the value itself (a schema's default) */
const inBody = (path: string): string => (path ? `${path} in body` : 'in body');

/** all errors of `value` at `path` ('' for the root object) */
export function validateValue(
  s: JSONSchemaProps,
  value: unknown,
  path: string,
  out: StatusCause[] = [],
): StatusCause[] {
  const name = path;
  if (value === null || value === undefined) {
    if (s.nullable || value === undefined) return out;
    if (s['x-kubernetes-int-or-string']) {
      out.push(invalid(path, 'null', `${inBody(name)} must be of type integer,string: "null"`));
      return out;
    }
    if (s.type) out.push(invalid(path, 'null', `${inBody(name)} must be of type ${s.type}: "null"`));
    return out;
  }
  if (s['x-kubernetes-int-or-string']) {
    const t = typeName(value);
    if (t !== 'integer' && t !== 'string') {
      out.push(invalid(path, t, `${inBody(name)} must be of type integer,string: "${t}"`));
      return out;
    }
  } else if (s.type && !typeOk(s.type, value)) {
    const t = typeName(value);
    out.push(invalid(path, t, `${inBody(name)} must be of type ${s.type}: "${t}"`));
    return out;
  }
  if (Array.isArray(s.enum) && s.enum.length && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push(
      field.notSupported(
        path,
        value,
        s.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))),
      ),
    );
  }
  if (typeof value === 'string') stringChecks(s, value, path, name, out);
  if (typeof value === 'number') numberChecks(s, value, path, name, out);
  if (Array.isArray(value)) {
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) {
      out.push({
        reason: 'FieldValueTooMany',
        message: `Too many: ${value.length}: must have at most ${s.maxItems} ${s.maxItems === 1 ? 'item' : 'items'}`,
        field: path,
      });
    }
    if (typeof s.minItems === 'number' && value.length < s.minItems)
      out.push(invalid(path, value.length, `${inBody(name)} should have at least ${s.minItems} items`));
    if (isRecord(s.items)) value.forEach((x, i) => validateValue(s.items!, x, `${path}[${i}]`, out));
    listTypeChecks(s, value, path, out);
  }
  if (isRecord(value)) objectChecks(s, value, path, name, out);
  for (const sub of s.allOf ?? []) if (isRecord(sub)) validateValue(sub, value, path, out);
  if (Array.isArray(s.anyOf) && s.anyOf.length && !s['x-kubernetes-int-or-string']) {
    if (!s.anyOf.some((sub) => validateValue(sub, value, path).length === 0))
      out.push(invalid(path, value, `${inBody(name)} must validate at least one schema (anyOf)`));
  }
  if (Array.isArray(s.oneOf) && s.oneOf.length) {
    const ok = s.oneOf.filter((sub) => validateValue(sub, value, path).length === 0).length;
    if (ok !== 1) out.push(invalid(path, value, `${inBody(name)} must validate one and only one schema (oneOf)`));
  }
  if (isRecord(s.not) && validateValue(s.not, value, path).length === 0)
    out.push(invalid(path, value, `${inBody(name)} should not validate the schema (not)`));
  return out;
}

function stringChecks(s: JSONSchemaProps, v: string, path: string, name: string, out: StatusCause[]): void {
  const len = [...v].length;
  if (typeof s.maxLength === 'number' && len > s.maxLength) out.push(field.tooLong(path, v, s.maxLength));
  if (typeof s.minLength === 'number' && len < s.minLength)
    out.push(invalid(path, v, `${inBody(name)} should be at least ${s.minLength} chars long`));
  if (typeof s.pattern === 'string') {
    const re = compilePattern(s.pattern);
    if (!(re instanceof Error) && !re.test(v))
      out.push(invalid(path, v, `${inBody(name)} should match '${s.pattern}'`));
  }
  if (typeof s.format === 'string' && !s['x-kubernetes-int-or-string']) {
    const bad = formatError(s.format, v);
    if (bad) out.push(invalid(path, v, `${inBody(name)} must be of type ${bad}: ${JSON.stringify(v)}`));
  }
}

function numberChecks(s: JSONSchemaProps, v: number, path: string, name: string, out: StatusCause[]): void {
  if (typeof s.maximum === 'number') {
    if (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)
      out.push(
        invalid(
          path,
          v,
          `${inBody(name)} should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${num(s.maximum)}`,
        ),
      );
  }
  if (typeof s.minimum === 'number') {
    if (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)
      out.push(
        invalid(
          path,
          v,
          `${inBody(name)} should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${num(s.minimum)}`,
        ),
      );
  }
  if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && !Number.isInteger(v / s.multipleOf)) {
    out.push(invalid(path, v, `${inBody(name)} should be a multiple of ${num(s.multipleOf)}`));
  }
}

function objectChecks(
  s: JSONSchemaProps,
  v: Record<string, unknown>,
  path: string,
  name: string,
  out: StatusCause[],
): void {
  const n = Object.keys(v).length;
  if (typeof s.maxProperties === 'number' && n > s.maxProperties) {
    out.push({
      reason: 'FieldValueTooMany',
      message: `Too many: ${n}: must have at most ${s.maxProperties} ${s.maxProperties === 1 ? 'item' : 'items'}`,
      field: path,
    });
  }
  if (typeof s.minProperties === 'number' && n < s.minProperties)
    out.push(invalid(path, n, `${inBody(name)} should have at least ${s.minProperties} properties`));
  for (const r of s.required ?? []) {
    if (!Object.hasOwn(v, r)) out.push(field.required(childPath(path, r)));
  }
  const props = isRecord(s.properties) ? s.properties : {};
  const add = additionalSchema(s);
  for (const [k, x] of Object.entries(v)) {
    // metadata is ObjectMeta's to validate, but for what the schema may restrict: name and
    // generateName; apiVersion and kind are set by the server
    if (path === '' && k === 'metadata') {
      metadataChecks(props.metadata, x, out);
      continue;
    }
    if (path === '' && (k === 'apiVersion' || k === 'kind')) continue;
    const sub = Object.hasOwn(props, k) ? props[k] : add;
    if (sub) validateValue(sub, x, childPath(path, k), out);
  }
  if (s['x-kubernetes-embedded-resource']) embeddedChecks(v, path, out);
}

function metadataChecks(s: JSONSchemaProps | undefined, meta: unknown, out: StatusCause[]): void {
  if (!s || !isRecord(s.properties) || !isRecord(meta)) return;
  for (const f of ['name', 'generateName']) {
    const sub = s.properties[f];
    if (sub && meta[f] !== undefined) validateValue(sub, meta[f], `metadata.${f}`, out);
  }
}

/** an embedded object (x-kubernetes-embedded-resource) needs apiVersion and kind (objectmeta/validation.go) */
function embeddedChecks(v: Record<string, unknown>, path: string, out: StatusCause[]): void {
  if (!Object.hasOwn(v, 'apiVersion')) out.push(field.required(childPath(path, 'apiVersion'), 'must not be empty'));
  else if (typeof v.apiVersion !== 'string')
    out.push(invalid(childPath(path, 'apiVersion'), v.apiVersion, 'must be a string'));
  else if (!v.apiVersion) out.push(invalid(childPath(path, 'apiVersion'), '', 'must not be empty'));
  if (!Object.hasOwn(v, 'kind')) out.push(field.required(childPath(path, 'kind'), 'must not be empty'));
  else if (typeof v.kind !== 'string') out.push(invalid(childPath(path, 'kind'), v.kind, 'must be a string'));
  else if (!v.kind) out.push(invalid(childPath(path, 'kind'), '', 'must not be empty'));
}

/** x-kubernetes-list-type set / map: no duplicates (apiextensions' listtype validation) */
function listTypeChecks(s: JSONSchemaProps, v: unknown[], path: string, out: StatusCause[]): void {
  const t = s['x-kubernetes-list-type'];
  if (t === 'set') {
    const seen = new Set<string>();
    v.forEach((x, i) => {
      const k = JSON.stringify(x);
      if (seen.has(k)) out.push(field.duplicate(`${path}[${i}]`, x));
      seen.add(k);
    });
  } else if (t === 'map' && Array.isArray(s['x-kubernetes-list-map-keys'])) {
    const keys = s['x-kubernetes-list-map-keys'];
    const seen = new Set<string>();
    v.forEach((x, i) => {
      if (!isRecord(x)) return;
      const k = JSON.stringify(keys.map((key) => x[key]));
      if (seen.has(k)) out.push(field.duplicate(`${path}[${i}]`, Object.fromEntries(keys.map((key) => [key, x[key]]))));
      seen.add(k);
    });
  }
}
