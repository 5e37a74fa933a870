// Pruning and defaulting of custom resources by their structural schema
// (apiextensions-apiserver pkg/apiserver/schema/pruning and defaulting): fields the schema
// does not specify are dropped unless x-kubernetes-preserve-unknown-fields; apiVersion, kind
// and metadata stay at the root and in embedded resources; nulls of non-nullable fields
// are dropped, or replaced by the default; absent fields with a default get it.
import { defs } from '../../proto/schema/defs.js';
import { additionalSchema, childPath, isRecord, type JSONSchemaProps } from './schema-types.js';

const OBJECT_META = defs.ObjectMeta;
/** the fields of an ObjectMeta: what an embedded resource's metadata keeps */
export const META_FIELDS: ReadonlySet<string> = new Set(
  OBJECT_META && OBJECT_META.t === 'object' ? Object.keys(OBJECT_META.fields) : [],
);

/** Drops unknown fields in place; returns their paths (`spec.foo`, `spec.items[0].bar`). */
export function prune(value: unknown, s: JSONSchemaProps, path = '', root = true): string[] {
  const out: string[] = [];
  pruneInto(value, s, path, root, out);
  return out;
}

function pruneInto(value: unknown, s: JSONSchemaProps, path: string, isRoot: boolean, out: string[]): void {
  if (s['x-kubernetes-int-or-string']) return;
  if (Array.isArray(value)) {
    if (isRecord(s.items)) value.forEach((x, i) => pruneInto(x, s.items!, `${path}[${i}]`, false, out));
    return;
  }
  if (!isRecord(value)) return;
  const props = isRecord(s.properties) ? s.properties : {};
  const add = additionalSchema(s);
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;
  const keepMeta = isRoot || s['x-kubernetes-embedded-resource'] === true;
  for (const k of Object.keys(value)) {
    if (keepMeta && (k === 'apiVersion' || k === 'kind')) continue;
    if (keepMeta && k === 'metadata') {
      // an embedded resource's metadata is an ObjectMeta (the root's is pruned by the caller)
      if (!isRoot && isRecord(value.metadata)) {
        for (const m of Object.keys(value.metadata))
          if (!META_FIELDS.has(m)) {
            out.push(`${childPath(path, 'metadata')}.${m}`);
            delete value.metadata[m];
          }
      }
      continue;
    }
    const sub = Object.hasOwn(props, k) ? props[k] : add;
    if (sub) pruneInto(value[k], sub, childPath(path, k), false, out);
    else if (!preserve) {
      out.push(childPath(path, k));
      delete value[k];
    }
  }
}

/** Applies defaults in place (and drops nulls of non-nullable fields without a default). */
export function applyDefaults(value: unknown, s: JSONSchemaProps): void {
  if (Array.isArray(value)) {
    if (isRecord(s.items)) {
      for (let i = 0; i < value.length; i++) {
        if (value[i] === null && !s.items.nullable && s.items.default !== undefined)
          value[i] = structuredClone(s.items.default);
        applyDefaults(value[i], s.items);
      }
    }
    return;
  }
  if (!isRecord(value)) return;
  const props = isRecord(s.properties) ? s.properties : {};
  for (const [k, sub] of Object.entries(props)) {
    if (!isRecord(sub)) continue;
    const cur = value[k];
    if (cur === null && !sub.nullable) {
      if (sub.default !== undefined) value[k] = structuredClone(sub.default);
      else delete value[k];
    } else if (cur === undefined && sub.default !== undefined) {
      value[k] = structuredClone(sub.default);
    }
    if (value[k] !== undefined) applyDefaults(value[k], sub);
  }
  const add = additionalSchema(s);
  if (add) {
    for (const k of Object.keys(value)) {
      if (Object.hasOwn(props, k)) continue;
      if (value[k] === null && !add.nullable) {
        if (add.default !== undefined) value[k] = structuredClone(add.default);
        else {
          delete value[k];
          continue;
        }
      }
      applyDefaults(value[k], add);
    }
  }
}
