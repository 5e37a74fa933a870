// The OpenAPI generator (controlplane/api/openapi/): every reference resolves, every
// served kind has its schema with x-kubernetes-group-version-kind and a PATCH operation
// naming fieldValidation, a few definitions equal upstream's (kubernetes/kubernetes
// api/openapi-spec/v3/apis__apps__v1_openapi.json, modulo the `default`s skiff does not
// publish), the swagger 2.0 document in gnostic protobuf reads back, custom resources
// reference ObjectMeta, kinds registered after construction appear, Accept negotiation.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { Reader } from '../../proto/protobuf/wire.js';
import { buildOpenApi } from '../../controlplane/api/openapi.js';
import { assignNames, v2Document, v3Documents } from '../../controlplane/api/openapi/build.js';
import { encodeOpenApiV2 } from '../../controlplane/api/openapi/gnostic-pb.js';
import { negotiate } from '../../controlplane/api/openapi/routes.js';
import { serveCrd, unserveCrd } from '../../controlplane/crd/registry.js';
import { resources, type ResourceDef } from '../../controlplane/resources/index.js';
import { TOKEN_REVIEW_RESOURCE } from '../../controlplane/authz/token-review.js';

type Json = Record<string, any>;

const kinds = [...resources, TOKEN_REVIEW_RESOURCE];
const docs = v3Documents(kinds) as Map<string, Json>;

/** every `$ref` target in a value */
function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v))
      if (k === '$ref') out.push(x as string);
      else refs(x, out);
  return out;
}

/** what skiff does not publish (defaults) and kube-openapi's `allOf: [ref]` without siblings */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v !== 'object' || v === null) return v;
  const o: Json = {};
  for (const [k, x] of Object.entries(v))
    if (k !== 'default') o[k] = k === 'required' ? [...(x as string[])].sort() : normalize(x);
  if (Object.keys(o).length === 1 && Array.isArray(o.allOf) && o.allOf.length === 1) return o.allOf[0];
  return o;
}

describe('OpenAPI v3 documents', () => {
  it('resolves every reference inside its own document', () => {
    expect(docs.size).toBeGreaterThan(5);
    for (const [key, doc] of docs) {
      const schemas = doc.components.schemas as Json;
      for (const r of refs(doc)) {
        expect(r.startsWith('#/components/schemas/'), `${key}: ${r}`).toBe(true);
        expect(schemas[r.slice('#/components/schemas/'.length)], `${key}: ${r}`).toBeDefined();
      }
    }
  });

  it('gives every served kind its schema with its group-version-kind and a PATCH naming fieldValidation', () => {
    for (const k of kinds) {
      const doc = docs.get(k.group ? `apis/${k.group}/${k.version}` : `api/${k.version}`)!;
      const gvk = { group: k.group, kind: k.kind, version: k.version };
      const schema = Object.values(doc.components.schemas as Json).find((s) =>
        (s['x-kubernetes-group-version-kind'] ?? []).some(
          (g: Json) => g.kind === k.kind && g.group === k.group && g.version === k.version,
        ),
      );
      expect(schema, `${k.group}/${k.version} ${k.kind}`).toBeDefined();
      if (!k.verbs.includes('patch')) continue;
      const patch = Object.values(doc.paths as Json)
        .map((p) => p.patch)
        .find((p) => p && JSON.stringify(p['x-kubernetes-group-version-kind']) === JSON.stringify(gvk));
      expect(
        patch?.parameters.map((p: Json) => p.name),
        k.kind,
      ).toContain('fieldValidation');
      expect(patch['x-kubernetes-action']).toBe('patch');
    }
  });

  it('names definitions as upstream does', () => {
    const names = assignNames(kinds);
    expect(names.get('PodSpec')).toBe('io.k8s.api.core.v1.PodSpec');
    expect(names.get('ObjectMeta')).toBe('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    expect(names.get('PodTemplateSpec')).toBe('io.k8s.api.core.v1.PodTemplateSpec');
    expect(names.get('DeploymentStrategy')).toBe('io.k8s.api.apps.v1.DeploymentStrategy');
    expect(names.get('RbacSubject')).toBe('io.k8s.api.rbac.v1.Subject');
    expect(names.get('DiscoveryEndpointPort')).toBe('io.k8s.api.discovery.v1.EndpointPort');
    expect(names.get('PolicyRule')).toBe('io.k8s.api.rbac.v1.PolicyRule');
    expect(new Set(names.values()).size).toBe(names.size);
  });

  it('carries patch strategies, list types, int-or-string and quantities as upstream', () => {
    const apps = docs.get('apis/apps/v1')!.components.schemas as Json;
    const core = docs.get('api/v1')!.components.schemas as Json;
    expect(apps['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy).toMatchObject({
      allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' }],
      'x-kubernetes-patch-strategy': 'retainKeys',
    });
    expect(apps['io.k8s.api.apps.v1.DeploymentSpec'].required).toEqual(['selector', 'template']);
    expect(core['io.k8s.api.core.v1.PodSpec'].properties.containers).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/io.k8s.api.core.v1.Container' },
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
    });
    expect(core['io.k8s.api.core.v1.PodSpec'].properties.volumes).toMatchObject({
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge,retainKeys',
    });
    expect(core['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.finalizers).toMatchObject({
      type: 'array',
      items: { type: 'string' },
      'x-kubernetes-list-type': 'set',
      'x-kubernetes-patch-strategy': 'merge',
    });
    expect(core['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.ownerReferences).toMatchObject({
      'x-kubernetes-list-map-keys': ['uid'],
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-patch-merge-key': 'uid',
      'x-kubernetes-patch-strategy': 'merge',
    });
    expect(core['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({
      format: 'int-or-string',
      type: 'string',
    });
    expect(core['io.k8s.apimachinery.pkg.api.resource.Quantity']).toMatchObject({ type: 'string' });
    expect(core['io.k8s.api.core.v1.ResourceRequirements'].properties.limits).toMatchObject({
      type: 'object',
      additionalProperties: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity' },
    });
    expect(core['io.k8s.api.core.v1.Container'].required).toEqual(['name']);
    const patch = docs.get('apis/apps/v1')!.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(Object.keys(patch.requestBody.content)).toEqual([
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]);
    expect(patch.operationId).toBe('patchAppsV1NamespacedDeployment');
    expect(
      docs.get('apis/apps/v1')!.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].put[
        'x-kubernetes-group-version-kind'
      ],
    ).toEqual({ group: 'autoscaling', kind: 'Scale', version: 'v1' });
  });

  // upstream texts: kubernetes/kubernetes api/openapi-spec/v3/apis__apps__v1_openapi.json
  it('matches upstream definitions (modulo defaults)', () => {
    const apps = docs.get('apis/apps/v1')!.components.schemas as Json;
    const upstream: Json = {
      'io.k8s.api.apps.v1.ReplicaSetCondition': {
        description: 'ReplicaSetCondition describes the state of a replica set at a certain point.',
        properties: {
          lastTransitionTime: {
            allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time' }],
            description: 'The last time the condition transitioned from one status to another.',
          },
          message: { description: 'A human readable message indicating details about the transition.', type: 'string' },
          reason: { description: "The reason for the condition's last transition.", type: 'string' },
          status: { default: '', description: 'Status of the condition, one of True, False, Unknown.', type: 'string' },
          type: { default: '', description: 'Type of replica set condition.', type: 'string' },
        },
        required: ['type', 'status'],
        type: 'object',
      },
      'io.k8s.api.autoscaling.v1.ScaleStatus': {
        description: 'ScaleStatus represents the current status of a scale subresource.',
        properties: {
          replicas: {
            default: 0,
            description: 'replicas is the actual number of observed instances of the scaled object.',
            format: 'int32',
            type: 'integer',
          },
          selector: {
            description:
              'selector is the label query over pods that should match the replicas count. This is same as the label selector but in the string format to avoid introspection by clients. The string will be in the same format as the query-param syntax. More info about label selectors: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/',
            type: 'string',
          },
        },
        required: ['replicas'],
        type: 'object',
      },
      'io.k8s.api.apps.v1.ReplicaSetList': {
        description: 'ReplicaSetList is a collection of ReplicaSets.',
        properties: {
          apiVersion: {
            description:
              'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
            type: 'string',
          },
          items: {
            description:
              'List of ReplicaSets. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset',
            items: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.ReplicaSet' }], default: {} },
            type: 'array',
          },
          kind: {
            description:
              'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
            type: 'string',
          },
          metadata: {
            allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta' }],
            default: {},
            description:
              'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
          },
        },
        required: ['items'],
        type: 'object',
        'x-kubernetes-group-version-kind': [{ group: 'apps', kind: 'ReplicaSetList', version: 'v1' }],
      },
    };
    for (const [name, want] of Object.entries(upstream)) expect(normalize(apps[name]), name).toEqual(normalize(want));
    // a list with a merge key, as upstream's ReplicaSetStatus.conditions
    const { description: _d, ...conditions } = apps['io.k8s.api.apps.v1.ReplicaSetStatus'].properties.conditions;
    expect(normalize(conditions)).toEqual(
      normalize({
        items: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.ReplicaSetCondition' }], default: {} },
        type: 'array',
        'x-kubernetes-list-map-keys': ['type'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'type',
        'x-kubernetes-patch-strategy': 'merge',
      }),
    );
  });
});

describe('OpenAPI v2', () => {
  const v2 = v2Document(kinds) as Json;

  it('is swagger 2.0 with every reference defined', () => {
    expect(v2.swagger).toBe('2.0');
    for (const r of refs(v2)) {
      expect(r.startsWith('#/definitions/'), r).toBe(true);
      expect(v2.definitions[r.slice('#/definitions/'.length)], r).toBeDefined();
    }
    expect(v2.definitions['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ]);
    expect(v2.definitions['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy).toEqual({
      $ref: '#/definitions/io.k8s.api.apps.v1.DeploymentStrategy',
      'x-kubernetes-patch-strategy': 'retainKeys',
    });
  });

  it('encodes as gnostic openapi.v2.Document', () => {
    const pb = encodeOpenApiV2(v2);
    const top = new Reader(pb);
    const fields = new Map<number, Uint8Array[]>();
    while (!top.eof()) {
      const { field, wire } = top.tag();
      if (wire !== 2) {
        top.skip(wire, field);
        continue;
      }
      fields.set(field, [...(fields.get(field) ?? []), top.bytes()]);
    }
    expect(Buffer.from(fields.get(1)![0]!).toString()).toBe('2.0');
    // definitions (9) → NamedSchema (1) { name = 1, value = 2 }
    const defsMsg = new Reader(fields.get(9)![0]!);
    const names: string[] = [];
    let podSchema: Uint8Array | undefined;
    while (!defsMsg.eof()) {
      defsMsg.tag();
      const named = new Reader(defsMsg.bytes());
      let name = '';
      while (!named.eof()) {
        const t = named.tag();
        const b = named.bytes();
        if (t.field === 1) name = Buffer.from(b).toString();
        else if (name === 'io.k8s.api.core.v1.Pod') podSchema = b;
      }
      names.push(name);
    }
    expect(names).toEqual(Object.keys(v2.definitions));
    // the Pod's vendor extension (31) holds its group-version-kind as YAML (JSON) in Any.yaml (2)
    expect(Buffer.from(podSchema!).toString('latin1')).toContain('x-kubernetes-group-version-kind');
    expect(Buffer.from(podSchema!).toString('latin1')).toContain('[{"group":"","kind":"Pod","version":"v1"}]');
  });
});

describe('buildOpenApi', () => {
  afterEach(() => unserveCrd('widgets.example.com'));

  it('covers kinds registered before the first request and custom resources with ObjectMeta', () => {
    const list: ResourceDef[] = [...kinds];
    const api = buildOpenApi(() => list);
    list.push({ ...TOKEN_REVIEW_RESOURCE, group: 'late.k8s.io', kind: 'Late', resource: 'lates', schema: 'Late' });
    expect((api.root as Json).paths['apis/late.k8s.io/v1'].serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/late\.k8s\.io\/v1\?hash=[0-9A-F]{128}$/,
    );
    const crd: KubeObject = {
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Cluster',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
              },
            },
          },
        ],
      },
      status: { acceptedNames: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' } },
    };
    serveCrd(crd);
    const doc = JSON.parse(api.docs.get('apis/example.com/v1')!.body) as Json;
    const w = doc.components.schemas['com.example.v1.Widget'];
    expect(w.properties.metadata.allOf).toEqual([
      { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
    ]);
    expect(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']).toBeDefined();
    const patch = doc.paths['/apis/example.com/v1/widgets/{name}'].patch;
    expect(Object.keys(patch.requestBody.content)).not.toContain('application/strategic-merge-patch+json');
    const v2 = JSON.parse(api.v2().json.body) as Json;
    expect(v2.definitions['com.example.v1.Widget'].properties.spec.properties.size).toEqual({ type: 'integer' });
  });
});

describe('negotiate', () => {
  it.each([
    [undefined, true, 'json'],
    ['application/json', true, 'json'],
    ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', true, 'protobuf'],
    ['application/com.github.proto-openapi.spec.v2.v1.0+protobuf', true, 'protobuf'],
    ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', false, undefined],
    ['application/json, */*', false, 'json'],
    ['text/html', true, undefined],
    ['text/html, application/json;q=0.5', true, 'json'],
  ] as const)('%s (protobuf %s) → %s', (accept, pb, want) => {
    expect(negotiate(accept, pb)).toBe(want);
  });
});
