// What clients discover of a served CRD: legacy and aggregated discovery entries (short
// names, categories, subresources, version order) and the OpenAPI v3 document of its group
// version with the schema kubectl explain reads; all gone once the CRD is unserved.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { aggregatedDiscovery, legacyGroup, resourceList } from '../../controlplane/api/discovery.js';
import { buildOpenApi } from '../../controlplane/api/openapi.js';
import { serveCrd, unserveCrd } from '../../controlplane/crd/registry.js';
import { resources } from '../../controlplane/resources/index.js';

const crd: KubeObject = {
  metadata: { name: 'crontabs.stable.example.com' },
  spec: {
    group: 'stable.example.com',
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: false,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
        },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['cronSpec'],
                properties: { cronSpec: { type: 'string', description: 'when' } },
              },
            },
          },
        },
      },
    ],
  },
  status: {
    acceptedNames: {
      plural: 'crontabs',
      singular: 'crontab',
      kind: 'CronTab',
      listKind: 'CronTabList',
      shortNames: ['ct'],
      categories: ['all'],
    },
  },
};

describe('discovery and OpenAPI of custom resources', () => {
  afterEach(() => unserveCrd('crontabs.stable.example.com'));

  it('lists the served versions, best first, with names, categories and subresources', () => {
    serveCrd(crd);
    expect(legacyGroup(resources, 'stable.example.com')).toMatchObject({
      preferredVersion: { version: 'v1' },
      versions: [{ version: 'v1' }, { version: 'v1beta1' }],
    });
    expect(resourceList(resources, 'stable.example.com', 'v1')?.resources).toEqual([
      {
        name: 'crontabs',
        singularName: 'crontab',
        namespaced: true,
        kind: 'CronTab',
        verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
        shortNames: ['ct'],
        categories: ['all'],
      },
      {
        name: 'crontabs/status',
        singularName: '',
        namespaced: true,
        kind: 'CronTab',
        verbs: ['get', 'patch', 'update'],
      },
      {
        name: 'crontabs/scale',
        singularName: '',
        namespaced: true,
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
        group: 'autoscaling',
        version: 'v1',
      },
    ]);
    const agg = aggregatedDiscovery(resources, false).items.find((g) => g.metadata.name === 'stable.example.com');
    expect(agg?.versions.map((v) => v.version)).toEqual(['v1', 'v1beta1']);
    expect(agg!.versions[0]!.resources[0]).toMatchObject({
      resource: 'crontabs',
      scope: 'Namespaced',
      shortNames: ['ct'],
      categories: ['all'],
    });
  });

  it('publishes the schema with its group-version-kind, and drops the group when unserved', () => {
    const openapi = buildOpenApi(resources);
    serveCrd(crd);
    const root = openapi.root as { paths: Record<string, { serverRelativeURL: string }> };
    expect(root.paths['apis/stable.example.com/v1']?.serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/stable\.example\.com\/v1\?hash=[0-9A-F]{128}$/,
    );
    const doc = JSON.parse(openapi.docs.get('apis/stable.example.com/v1')!.body);
    const schema = doc.components.schemas['com.example.stable.v1.CronTab'];
    expect(schema['x-kubernetes-group-version-kind']).toEqual([
      { group: 'stable.example.com', version: 'v1', kind: 'CronTab' },
    ]);
    expect(schema.properties.spec.properties.cronSpec).toEqual({ type: 'string', description: 'when' });
    expect(Object.keys(schema.properties).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(
      doc.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}'].patch.parameters.map(
        (p: { name: string }) => p.name,
      ),
    ).toContain('fieldValidation');
    unserveCrd('crontabs.stable.example.com');
    expect((openapi.root as { paths: Record<string, unknown> }).paths['apis/stable.example.com/v1']).toBeUndefined();
    expect(legacyGroup(resources, 'stable.example.com')).toBeUndefined();
  });
});
