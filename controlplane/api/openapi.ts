// The OpenAPI v3 kubectl needs: a root listing each group version and, per group
// version, a PATCH operation per kind that names the `fieldValidation` parameter, so
// kubectl validates server-side (KUBECTL.md §2). Built-in types carry no schemas
// (kubectl's compiled-in types drive its patches); custom resources carry their CRD's
// schema under components.schemas with x-kubernetes-group-version-kind, which is what
// `kubectl explain` reads. Custom group versions follow the CRD registry at request time.
import { createHash } from 'node:crypto';
import type { ResourceDef } from '../resources/types.js';
import { customResourceDefsServed, customSchema, registryGeneration } from '../crd/registry.js';
import type { JSONSchemaProps } from '../crd/schema-types.js';

export interface OpenApiDoc { body: string; hash: string }

export interface OpenApiDocs {
  readonly root: unknown;
  /** keyed by 'api/v1' or 'apis/<group>/<version>' */
  docs: { get(key: string): OpenApiDoc | undefined };
}

const PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' } }));

function groupByVersion(defs: ResourceDef[]): Map<string, ResourceDef[]> {
  const out = new Map<string, ResourceDef[]>();
  for (const d of defs) {
    const base = d.group ? `apis/${d.group}/${d.version}` : `api/${d.version}`;
    const list = out.get(base) ?? [];
    list.push(d);
    out.set(base, list);
  }
  return out;
}

/** `stable.example.com` → `com.example.stable` (the OpenAPI definition name prefix of a CRD group) */
export function reverseGroup(group: string): string {
  return group.split('.').reverse().join('.');
}

const META_DESCRIPTION = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const API_VERSION_DESCRIPTION = 'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DESCRIPTION = 'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/** the published schema of a custom resource: its CRD schema plus apiVersion, kind and metadata */
export function customResourceComponent(def: ResourceDef, schema: JSONSchemaProps): Record<string, unknown> {
  const s = structuredClone(schema) as Record<string, unknown>;
  const props = { ...((s.properties as Record<string, unknown> | undefined) ?? {}) };
  props.apiVersion = { type: 'string', description: API_VERSION_DESCRIPTION };
  props.kind = { type: 'string', description: KIND_DESCRIPTION };
  props.metadata = { type: 'object', description: META_DESCRIPTION };
  s.properties = props;
  s.type = 'object';
  s['x-kubernetes-group-version-kind'] = [{ group: def.group, version: def.version, kind: def.kind }];
  return s;
}

function buildDoc(defs: ResourceDef[], base: string): OpenApiDoc {
  const docPaths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const d of defs) {
    const gvk = { group: d.group, version: d.version, kind: d.kind };
    const path = d.namespaced ? `/${base}/namespaces/{namespace}/${d.resource}/{name}` : `/${base}/${d.resource}/{name}`;
    docPaths[path] = {
      get: { operationId: `read${d.kind}`, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
      put: { operationId: `replace${d.kind}`, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, parameters: PARAMS },
      patch: { operationId: `patch${d.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, parameters: PARAMS },
      delete: { operationId: `delete${d.kind}`, 'x-kubernetes-action': 'delete', 'x-kubernetes-group-version-kind': gvk },
    };
    const schema = d.custom ? customSchema(d) : undefined;
    if (schema) {
      const prefix = `${reverseGroup(d.group)}.${d.version}`;
      schemas[`${prefix}.${d.kind}`] = customResourceComponent(d, schema);
      schemas[`${prefix}.${d.kind}List`] = {
        type: 'object',
        description: `${d.kind}List is a list of ${d.kind}`,
        required: ['items'],
        properties: {
          apiVersion: { type: 'string', description: API_VERSION_DESCRIPTION },
          items: { type: 'array', description: `List of ${d.resource}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, items: { $ref: `#/components/schemas/${prefix}.${d.kind}` } },
          kind: { type: 'string', description: KIND_DESCRIPTION },
          metadata: { type: 'object', description: "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds" },
        },
        'x-kubernetes-group-version-kind': [{ group: d.group, version: d.version, kind: `${d.kind}List` }],
      };
    }
  }
  const doc = { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4-skiff' }, paths: docPaths, components: { schemas } };
  const body = JSON.stringify(doc);
  const hash = createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase();
  return { body, hash };
}

export function buildOpenApi(defs: ResourceDef[]): OpenApiDocs {
  const builtIn = new Map<string, OpenApiDoc>();
  for (const [base, list] of groupByVersion(defs)) builtIn.set(base, buildDoc(list, base));
  let cached: { generation: number; docs: Map<string, OpenApiDoc>; root: unknown } | undefined;
  const current = () => {
    const generation = registryGeneration();
    if (cached?.generation === generation) return cached;
    const docs = new Map(builtIn);
    for (const [base, list] of groupByVersion(customResourceDefsServed())) if (!docs.has(base)) docs.set(base, buildDoc(list, base));
    const paths: Record<string, unknown> = {};
    for (const [base, d] of docs) paths[base] = { serverRelativeURL: `/openapi/v3/${base}?hash=${d.hash}` };
    cached = { generation, docs, root: { paths } };
    return cached;
  };
  return {
    get root() { return current().root; },
    docs: { get: (key: string) => current().docs.get(key) },
  };
}
