// The OpenAPI documents from the served kinds: the v3 document of each group version
// (its paths and every schema they reach under components.schemas) and the swagger 2.0
// document of everything (definitions). Built-in kinds take their schemas from
// proto/schema/defs.ts; custom resources from their CRD's structural schema (as the
// CRD registry holds it) with metadata as a reference to ObjectMeta. Kinds without a
// field schema (reviews, APIServices, metrics) are published as open objects.
// Pure: the caller decides when to build and caches the result.
import { defs as builtInDefs } from '../../../proto/schema/defs.js';
import type { SchemaDefs } from '../../../proto/schema/types.js';
import type { ResourceDef } from '../../resources/types.js';
import { customSchema } from '../../crd/registry.js';
import type { JSONSchemaProps } from '../../crd/schema-types.js';
import { META, definitionName, packageOf } from './names.js';
import { kindPaths } from './paths.js';
import {
  API_VERSION_DESCRIPTION,
  KIND_DESCRIPTION,
  META_DESCRIPTION,
  apimachineryDefinitions,
  definitionSchema,
  descriptions,
  listSchema,
  refProp,
  refsOf,
  type ConvertContext,
  type Flavor,
  type Schema,
} from './schemas.js';

/** 'api/v1' or 'apis/<group>/<version>' */
export function gvKey(d: { group: string; version: string }): string {
  return d.group ? `apis/${d.group}/${d.version}` : `api/${d.version}`;
}

/** defs.ts name → full definition name, first assigned by the core kinds, then in list order */
export function assignNames(kinds: ResourceDef[], defs: SchemaDefs = builtInDefs): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  // the apimachinery types every document references (custom resources' metadata too)
  const seed = {
    group: '',
    version: 'v1',
    custom: undefined,
    schema: '',
    seeds: ['ObjectMeta', 'ListMeta', 'DeleteOptions', 'Scale'],
  };
  const ordered = [seed, ...kinds.filter((k) => !k.group), ...kinds.filter((k) => k.group)];
  for (const k of ordered) {
    const start = 'seeds' in k ? k.seeds : k.custom || !defs[k.schema] ? [] : [...refsOf(defs[k.schema])];
    const queue = [...start];
    while (queue.length) {
      const name = queue.shift()!;
      if (names.has(name) || !defs[name]) continue;
      let full = definitionName(name, k.group, k.version);
      if (taken.has(full)) full = `${packageOf(k.group, k.version)}.${name}`;
      if (taken.has(full)) full = `io.k8s.skiff.${name}`;
      names.set(name, full);
      taken.add(full);
      queue.push(...refsOf(defs[name]));
    }
  }
  return names;
}

export interface Generated {
  /** schemas by full name (all kinds) */
  schemas: Record<string, Schema>;
  /** per group-version key: its paths and the schema names it needs directly */
  groups: Map<string, { paths: Record<string, Schema>; roots: string[] }>;
}

/** top-level and list definition names of a kind */
export function kindNames(d: ResourceDef): { item: string; list: string } {
  const p = packageOf(d.group, d.version);
  return { item: `${p}.${d.kind}`, list: `${p}.${d.kind}List` };
}

/** the published schema of a custom resource: its CRD schema plus apiVersion, kind and metadata */
export function customResourceSchema(flavor: Flavor, def: ResourceDef, schema: JSONSchemaProps | undefined): Schema {
  const s = (
    schema ? structuredClone(schema) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
  ) as Schema;
  const props = { ...((s.properties as Record<string, unknown> | undefined) ?? {}) };
  props.apiVersion = { type: 'string', description: API_VERSION_DESCRIPTION };
  props.kind = { type: 'string', description: KIND_DESCRIPTION };
  props.metadata = refProp(flavor, `${META}.ObjectMeta`, META_DESCRIPTION);
  s.properties = props;
  s.type = 'object';
  s['x-kubernetes-group-version-kind'] = [{ group: def.group, kind: def.kind, version: def.version }];
  return flavor === 'v2' ? toV2(s) : s;
}

/** v2 has no nullable/oneOf/anyOf, and kubectl's v2 validator reads only the rest */
function toV2(s: unknown): Schema {
  if (Array.isArray(s)) return s.map(toV2) as unknown as Schema;
  if (typeof s !== 'object' || s === null) return s as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable' || k === 'oneOf' || k === 'anyOf' || k === 'not' || k.startsWith('x-kubernetes-validations'))
      continue;
    out[k] =
      k === 'properties' || k === 'patternProperties'
        ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, toV2(pv)]))
        : toV2(v);
  }
  return out;
}

/** every schema and path of the given kinds, in one flavor */
export function generate(flavor: Flavor, kinds: ResourceDef[], defs: SchemaDefs = builtInDefs): Generated {
  const names = assignNames(kinds, defs);
  const ctx: ConvertContext = { flavor, defs, nameOf: (n) => names.get(n) ?? `io.k8s.skiff.${n}` };
  const gvs: { group: string; version: string }[] = [];
  for (const k of kinds)
    if (!gvs.some((g) => g.group === k.group && g.version === k.version))
      gvs.push({ group: k.group, version: k.version });
  const schemas: Record<string, Schema> = apimachineryDefinitions(flavor, gvs);
  for (const [def, full] of names) schemas[full] = definitionSchema(ctx, def, full);
  if (defs.DeleteOptions) {
    schemas[`${META}.DeleteOptions`] = {
      ...definitionSchema(ctx, 'DeleteOptions', `${META}.DeleteOptions`),
      'x-kubernetes-group-version-kind': gvs.map((g) => ({
        group: g.group,
        kind: 'DeleteOptions',
        version: g.version,
      })),
    };
  }
  const scale = schemas['io.k8s.api.autoscaling.v1.Scale'];
  if (scale) scale['x-kubernetes-group-version-kind'] = [{ group: 'autoscaling', kind: 'Scale', version: 'v1' }];
  const groups = new Map<string, { paths: Record<string, Schema>; roots: string[] }>();
  for (const k of kinds) {
    const n = kindNames(k);
    const gvk = [{ group: k.group, kind: k.kind, version: k.version }];
    if (k.custom) {
      schemas[n.item] = customResourceSchema(flavor, k, customSchema(k));
    } else if (defs[k.schema]) {
      schemas[n.item] = { ...definitionSchema(ctx, k.schema, n.item), 'x-kubernetes-group-version-kind': gvk };
    } else {
      const d = descriptions()[n.item]?.d;
      schemas[n.item] = { ...(d ? { description: d } : {}), type: 'object', 'x-kubernetes-group-version-kind': gvk };
    }
    const listable = k.verbs.includes('list');
    if (listable) schemas[n.list] = listSchema(flavor, n.list, n.item, k.kind, k.resource, k);
    const key = gvKey(k);
    const g = groups.get(key) ?? {
      paths: {},
      roots: [`${META}.Status`, `${META}.DeleteOptions`, `${META}.Patch`, `${META}.WatchEvent`],
    };
    Object.assign(g.paths, kindPaths(flavor, k, n, { scale: !!schemas['io.k8s.api.autoscaling.v1.Scale'] }));
    g.roots.push(n.item, ...(listable ? [n.list] : []));
    if (k.subresources.includes('scale') && schemas['io.k8s.api.autoscaling.v1.Scale'])
      g.roots.push('io.k8s.api.autoscaling.v1.Scale');
    groups.set(key, g);
  }
  return { schemas, groups };
}

/** the names a schema references, transitively (including the roots) */
export function closure(schemas: Record<string, Schema>, roots: string[], flavor: Flavor): string[] {
  const prefix = flavor === 'v3' ? '#/components/schemas/' : '#/definitions/';
  const seen = new Set<string>();
  const queue = [...roots];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith(prefix)) queue.push(x.slice(prefix.length));
      else visit(x);
    }
  };
  while (queue.length) {
    const n = queue.shift()!;
    if (seen.has(n) || !schemas[n]) continue;
    seen.add(n);
    visit(schemas[n]);
  }
  return [...seen].sort();
}

export const INFO = { title: 'Kubernetes', version: 'v1.32.4' };

/** the v3 documents, keyed by group version */
export function v3Documents(kinds: ResourceDef[], defs: SchemaDefs = builtInDefs): Map<string, unknown> {
  const gen = generate('v3', kinds, defs);
  const out = new Map<string, unknown>();
  for (const [key, g] of gen.groups) {
    const paths = Object.fromEntries(Object.entries(g.paths).sort(([a], [b]) => (a < b ? -1 : 1)));
    const needed = closure(gen.schemas, g.roots, 'v3');
    // refs in path operations (request and response bodies)
    const schemas = Object.fromEntries(needed.map((n) => [n, gen.schemas[n]]));
    out.set(key, { openapi: '3.0.0', info: INFO, paths, components: { schemas } });
  }
  return out;
}

/** the swagger 2.0 document of every kind */
export function v2Document(kinds: ResourceDef[], defs: SchemaDefs = builtInDefs): Record<string, unknown> {
  const gen = generate('v2', kinds, defs);
  const paths: Record<string, Schema> = {};
  for (const g of gen.groups.values()) Object.assign(paths, g.paths);
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : 1)));
  const definitions = Object.fromEntries(
    Object.keys(gen.schemas)
      .sort()
      .map((n) => [n, gen.schemas[n]]),
  );
  return {
    swagger: '2.0',
    info: INFO,
    paths: sortedPaths,
    definitions,
    securityDefinitions: {
      BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' },
    },
    security: [{ BearerToken: [] }],
  };
}
