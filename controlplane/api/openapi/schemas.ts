// OpenAPI schema objects from skiff's field schemas (proto/schema/types.ts), in
// kube-apiserver's shape: one named definition per defs.ts type (`$ref` between them; in
// v3 a described reference is `allOf: [{$ref}]` beside the description, as kube-openapi
// writes it), int-or-string, Quantity and Time as references to their apimachinery
// definitions, and the strategic-merge-patch struct tags as `x-kubernetes-patch-strategy`
// / `x-kubernetes-patch-merge-key` with the list types they imply. Descriptions and
// required fields come from descriptions.generated.ts (made by
// scripts/gen-openapi-descriptions.mjs), parsed on first use. Pure, no I/O.
import type { FieldSchema, SchemaDefs } from '../../../proto/schema/types.js';
import { DESCRIPTIONS_JSON } from './descriptions.generated.js';
import { INT_OR_STRING, META, QUANTITY, RAW_EXTENSION } from './names.js';

export type Schema = Record<string, unknown>;
export type Flavor = 'v2' | 'v3';

/** description of a definition (`d`), of its properties (`p`) and its required properties (`r`) */
export interface DefDocs {
  d?: string;
  p?: Record<string, string>;
  r?: string[];
}

let docsCache: Record<string, DefDocs> | undefined;
/** the generated descriptions, keyed by upstream definition name (loaded on first use) */
export function descriptions(): Record<string, DefDocs> {
  if (!docsCache) {
    docsCache = DESCRIPTIONS_JSON ? (JSON.parse(DESCRIPTIONS_JSON) as Record<string, DefDocs>) : {};
  }
  return docsCache;
}

export function refPrefix(flavor: Flavor): string {
  return flavor === 'v3' ? '#/components/schemas/' : '#/definitions/';
}

/** a property that references a named definition, with its description as kube-openapi writes it */
export function refProp(flavor: Flavor, name: string, description?: string, extra: Schema = {}): Schema {
  const ref = { $ref: `${refPrefix(flavor)}${name}` };
  if (flavor === 'v3' && (description || Object.keys(extra).length))
    return { allOf: [ref], ...(description ? { description } : {}), ...extra };
  return { ...ref, ...(description ? { description } : {}), ...extra };
}

export interface ConvertContext {
  flavor: Flavor;
  defs: SchemaDefs;
  /** full name of a defs.ts definition */
  nameOf(def: string): string;
}

/** patch and list-type extensions of a list field */
function listExtensions(s: Extract<FieldSchema, { t: 'list' }>): Schema {
  const out: Schema = {};
  const primitive = s.items.t !== 'object' && s.items.t !== 'ref';
  if (s.mergeKey) {
    out['x-kubernetes-list-map-keys'] = [s.mergeKey];
    out['x-kubernetes-list-type'] = 'map';
    out['x-kubernetes-patch-merge-key'] = s.mergeKey;
  } else if (s.strategy === 'merge' && primitive) {
    out['x-kubernetes-list-type'] = 'set';
  } else {
    out['x-kubernetes-list-type'] = 'atomic';
  }
  if (s.strategy === 'merge') out['x-kubernetes-patch-strategy'] = s.retainKeys ? 'merge,retainKeys' : 'merge';
  return out;
}

/** the schema of one field (`description` already known) */
export function fieldSchema(ctx: ConvertContext, s: FieldSchema, description?: string, path = ''): Schema {
  const d = description ? { description } : {};
  switch (s.t) {
    case 'string':
      return { type: 'string', ...d };
    case 'int':
      return { type: 'integer', format: s.format ?? 'int64', ...d };
    case 'number':
      return { type: 'number', format: 'double', ...d };
    case 'bool':
      return { type: 'boolean', ...d };
    case 'intOrString':
      return refProp(ctx.flavor, INT_OR_STRING, description);
    case 'quantity':
      return refProp(ctx.flavor, QUANTITY, description);
    case 'time':
      return refProp(ctx.flavor, `${META}.Time`, description);
    case 'any':
      // ControllerRevision.data is free-form in defs.ts (and ObjectMeta.managedFields, above)
      if (path === 'data') return refProp(ctx.flavor, RAW_EXTENSION, description);
      return ctx.flavor === 'v3' ? { 'x-kubernetes-preserve-unknown-fields': true, ...d } : { ...d };
    case 'ref':
      return refProp(ctx.flavor, ctx.nameOf(s.name), description);
    case 'map':
      return { type: 'object', additionalProperties: fieldSchema(ctx, s.values), ...d };
    case 'list':
      if (path === 'managedFields' && s.items.t === 'any')
        return {
          type: 'array',
          items: refProp(ctx.flavor, `${META}.ManagedFieldsEntry`),
          ...d,
          'x-kubernetes-list-type': 'atomic',
        };
      return { type: 'array', items: fieldSchema(ctx, s.items), ...d, ...listExtensions(s) };
    case 'object': {
      const props: Schema = {};
      for (const [k, v] of Object.entries(s.fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        props[k] = fieldSchema(ctx, v, undefined, k);
      return { type: 'object', properties: props, ...d };
    }
  }
}

/** the named definition of a defs.ts entry (an object's fields with their descriptions and required list) */
export function definitionSchema(ctx: ConvertContext, def: string, full: string): Schema {
  const s = ctx.defs[def];
  const docs = descriptions()[full] ?? {};
  const out: Schema = {};
  if (docs.d) out.description = docs.d;
  if (!s || s.t !== 'object') return { ...out, ...(s ? fieldSchema(ctx, s) : { type: 'object' }) };
  const props: Schema = {};
  for (const [k, v] of Object.entries(s.fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let p = fieldSchema(ctx, v, docs.p?.[k], k);
    // patchStrategy "retainKeys" on an object field (DeploymentSpec.strategy)
    if (
      v.t === 'ref' &&
      ctx.defs[v.name]?.t === 'object' &&
      (ctx.defs[v.name] as { retainKeys?: boolean }).retainKeys
    ) {
      p = refProp(ctx.flavor, ctx.nameOf(v.name), docs.p?.[k], { 'x-kubernetes-patch-strategy': 'retainKeys' });
    }
    props[k] = p;
  }
  const required = (docs.r ?? []).filter((r) => r in s.fields);
  if (required.length) out.required = required;
  out.properties = props;
  out.type = 'object';
  return out;
}

/** the defs.ts names a field schema references directly */
export function refsOf(s: FieldSchema | undefined, out: Set<string> = new Set()): Set<string> {
  if (!s) return out;
  switch (s.t) {
    case 'ref':
      out.add(s.name);
      break;
    case 'map':
      refsOf(s.values, out);
      break;
    case 'list':
      refsOf(s.items, out);
      break;
    case 'object':
      for (const v of Object.values(s.fields)) refsOf(v, out);
      break;
    default:
      break;
  }
  return out;
}

const d = (full: string): string | undefined => descriptions()[full]?.d;
const pd = (full: string, p: string): string | undefined => descriptions()[full]?.p?.[p];
const strProp = (full: string, p: string): Schema => ({
  type: 'string',
  ...(pd(full, p) ? { description: pd(full, p) } : {}),
});

/** the apimachinery definitions every document may reference, not kept in defs.ts */
export function apimachineryDefinitions(
  flavor: Flavor,
  gvks: { group: string; version: string }[],
): Record<string, Schema> {
  const desc = (full: string): Schema => (d(full) ? { description: d(full) } : {});
  const gvkList = (kind: string) => gvks.map((g) => ({ group: g.group, kind, version: g.version }));
  const status = `${META}.Status`;
  const details = `${META}.StatusDetails`;
  const cause = `${META}.StatusCause`;
  const mfe = `${META}.ManagedFieldsEntry`;
  const watch = `${META}.WatchEvent`;
  return {
    [INT_OR_STRING]: { ...desc(INT_OR_STRING), format: 'int-or-string', type: 'string' },
    [QUANTITY]: { ...desc(QUANTITY), type: 'string' },
    [RAW_EXTENSION]: { ...desc(RAW_EXTENSION), type: 'object' },
    [`${META}.Time`]: { ...desc(`${META}.Time`), format: 'date-time', type: 'string' },
    [`${META}.MicroTime`]: { ...desc(`${META}.MicroTime`), format: 'date-time', type: 'string' },
    [`${META}.FieldsV1`]: { ...desc(`${META}.FieldsV1`), type: 'object' },
    [`${META}.Patch`]: { ...desc(`${META}.Patch`), type: 'object' },
    [mfe]: {
      ...desc(mfe),
      type: 'object',
      properties: {
        apiVersion: strProp(mfe, 'apiVersion'),
        fieldsType: strProp(mfe, 'fieldsType'),
        fieldsV1: refProp(flavor, `${META}.FieldsV1`, pd(mfe, 'fieldsV1')),
        manager: strProp(mfe, 'manager'),
        operation: strProp(mfe, 'operation'),
        subresource: strProp(mfe, 'subresource'),
        time: refProp(flavor, `${META}.Time`, pd(mfe, 'time')),
      },
    },
    [status]: {
      ...desc(status),
      type: 'object',
      properties: {
        apiVersion: strProp(status, 'apiVersion'),
        code: { type: 'integer', format: 'int32', ...(pd(status, 'code') ? { description: pd(status, 'code') } : {}) },
        details: refProp(flavor, details, pd(status, 'details'), { 'x-kubernetes-list-type': 'atomic' }),
        kind: strProp(status, 'kind'),
        message: strProp(status, 'message'),
        metadata: refProp(flavor, `${META}.ListMeta`, pd(status, 'metadata'), flavor === 'v3' ? { default: {} } : {}),
        reason: strProp(status, 'reason'),
        status: strProp(status, 'status'),
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [details]: {
      ...desc(details),
      type: 'object',
      properties: {
        causes: {
          type: 'array',
          items: refProp(flavor, cause),
          'x-kubernetes-list-type': 'atomic',
          ...(pd(details, 'causes') ? { description: pd(details, 'causes') } : {}),
        },
        group: strProp(details, 'group'),
        kind: strProp(details, 'kind'),
        name: strProp(details, 'name'),
        retryAfterSeconds: {
          type: 'integer',
          format: 'int32',
          ...(pd(details, 'retryAfterSeconds') ? { description: pd(details, 'retryAfterSeconds') } : {}),
        },
        uid: strProp(details, 'uid'),
      },
    },
    [cause]: {
      ...desc(cause),
      type: 'object',
      properties: {
        field: strProp(cause, 'field'),
        message: strProp(cause, 'message'),
        reason: strProp(cause, 'reason'),
      },
    },
    [watch]: {
      ...desc(watch),
      type: 'object',
      required: ['type', 'object'],
      properties: {
        object: refProp(flavor, RAW_EXTENSION, pd(watch, 'object')),
        type: { type: 'string', ...(pd(watch, 'type') ? { description: pd(watch, 'type') } : {}) },
      },
      'x-kubernetes-group-version-kind': gvkList('WatchEvent'),
    },
  };
}

/** the list kind of a top-level kind (`PodList`) */
export function listSchema(
  flavor: Flavor,
  listFull: string,
  itemFull: string,
  kind: string,
  resource: string,
  gvk: { group: string; version: string },
): Schema {
  const docs = descriptions()[listFull];
  return {
    description: docs?.d ?? `${kind}List is a list of ${kind}`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: API_VERSION_DESCRIPTION },
      items: {
        type: 'array',
        description:
          docs?.p?.items ??
          `List of ${resource}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`,
        items: refProp(flavor, itemFull, undefined, flavor === 'v3' ? { default: {} } : {}),
      },
      kind: { type: 'string', description: KIND_DESCRIPTION },
      metadata: refProp(
        flavor,
        `${META}.ListMeta`,
        'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
        flavor === 'v3' ? { default: {} } : {},
      ),
    },
    'x-kubernetes-group-version-kind': [{ group: gvk.group, kind: `${kind}List`, version: gvk.version }],
  };
}

export const API_VERSION_DESCRIPTION =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
export const KIND_DESCRIPTION =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
export const META_DESCRIPTION =
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
