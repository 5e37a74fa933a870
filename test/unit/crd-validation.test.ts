// CustomResourceDefinition validation as apiextensions-apiserver words it: names, group,
// scope, versions, required and structural schemas (field paths and messages), printer
// columns, the scale subresource and the immutable fields of an update.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { defaultCrd, validateCrd } from '../../controlplane/crd/crd-validation.js';
import { validateStructural } from '../../controlplane/crd/structural.js';

function crd(
  over: { name?: string; spec?: Record<string, unknown>; version?: Record<string, unknown> } = {},
): KubeObject {
  const o: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: over.name ?? 'crontabs.stable.example.com' },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: { plural: 'crontabs', kind: 'CronTab', shortNames: ['ct'] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { cronSpec: { type: 'string' } } } },
            },
          },
          ...over.version,
        },
      ],
      ...over.spec,
    },
  };
  defaultCrd(o);
  return o;
}

const messages = (o: KubeObject, old?: KubeObject) => validateCrd(o, old).map((c) => `${c.field}: ${c.message}`);

describe('CRD validation', () => {
  it('accepts the docs CronTab and defaults singular, listKind, conversion and storedVersions', () => {
    const o = crd();
    expect(messages(o)).toEqual([]);
    expect(o.spec.names).toMatchObject({ singular: 'crontab', listKind: 'CronTabList' });
    expect(o.spec.conversion).toEqual({ strategy: 'None' });
    expect(o.status.storedVersions).toEqual(['v1']);
  });

  it.each([
    [
      'the name is not <plural>.<group>',
      crd({ name: 'crontab.stable.example.com' }),
      'metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group',
    ],
    [
      'a group without a dot',
      crd({ name: 'crontabs.example', spec: { group: 'example' } }),
      'spec.group: Invalid value: "example": should be a domain with at least one dot',
    ],
    ['no scope', crd({ spec: { scope: '' } }), 'spec.scope: Required value'],
    [
      'a scope that does not exist',
      crd({ spec: { scope: 'Global' } }),
      'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
    ],
    [
      'no storage version',
      crd({ version: { storage: false } }),
      'spec.versions: Invalid value: [{v1}]: must have exactly one version marked as storage version',
    ],
    [
      'no schema',
      crd({ version: { schema: undefined } }),
      'spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required',
    ],
    [
      'an upper-case plural',
      crd({ name: 'CronTabs.stable.example.com', spec: { names: { plural: 'CronTabs', kind: 'CronTab' } } }),
      "spec.names.plural: Invalid value: \"CronTabs\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ],
    [
      'a kind with a dot',
      crd({ spec: { names: { plural: 'crontabs', kind: 'Cron.Tab' } } }),
      "spec.names.kind: Invalid value: \"Cron.Tab\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ],
    [
      'kind equal to listKind',
      crd({ spec: { names: { plural: 'crontabs', kind: 'CronTab', listKind: 'CronTab' } } }),
      'spec.names.listKind: Invalid value: "CronTab": kind and listKind may not be the same',
    ],
    [
      'a printer column of an unknown type',
      crd({ version: { additionalPrinterColumns: [{ name: 'X', type: 'map', jsonPath: '.spec.x' }] } }),
      'spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "map": must be one of boolean,date,integer,number,string',
    ],
    [
      'a scale path outside .spec',
      crd({
        version: {
          subresources: { scale: { specReplicasPath: '.status.replicas', statusReplicasPath: '.status.replicas' } },
        },
      }),
      'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec',
    ],
    [
      'conversion by webhook',
      crd({ spec: { conversion: { strategy: 'Webhook' } } }),
      'spec.conversion.strategy: Unsupported value: "Webhook": supported values: "None"',
    ],
    [
      'a k8s.io group without the approval annotation',
      crd({
        name: 'gateways.gateway.networking.k8s.io',
        spec: { group: 'gateway.networking.k8s.io', names: { plural: 'gateways', kind: 'Gateway' } },
      }),
      'metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
    ],
  ])('refuses %s', (_what, o, want) => {
    expect(messages(o)).toContain(want);
  });

  it('accepts a k8s.io group with an approval URL or an "unapproved" reason', () => {
    for (const value of ['https://github.com/kubernetes-sigs/gateway-api/pull/2466', 'unapproved, experimental-only']) {
      const o = crd({
        name: 'gateways.gateway.networking.k8s.io',
        spec: { group: 'gateway.networking.k8s.io', names: { plural: 'gateways', kind: 'Gateway' } },
      });
      o.metadata.annotations = { 'api-approved.kubernetes.io': value };
      expect(messages(o)).toEqual([]);
    }
  });

  it('keeps group and plural, and scope and kind once Established', () => {
    const old = crd();
    old.status.conditions = [{ type: 'Established', status: 'True' }];
    const next = crd({ spec: { scope: 'Cluster', names: { plural: 'crontabs', kind: 'CronJob' } } });
    expect(messages(next, old)).toEqual([
      'spec.scope: Invalid value: "Cluster": field is immutable',
      'spec.names.kind: Invalid value: "CronJob": field is immutable',
    ]);
  });
});

describe('structural schemas', () => {
  const P = 'spec.versions[0].schema.openAPIV3Schema';
  it.each([
    [
      'a field without a type',
      { type: 'object', properties: { spec: { properties: { a: { type: 'string' } } } } },
      [`${P}.properties[spec].type: Required value: must not be empty for specified object fields`],
    ],
    [
      'array items without a type',
      { type: 'object', properties: { l: { type: 'array', items: {} } } },
      [`${P}.properties[l].items.type: Required value: must not be empty for specified array items`],
    ],
    [
      'an array without items',
      { type: 'object', properties: { l: { type: 'array' } } },
      [`${P}.properties[l].items: Required value: must be specified`],
    ],
    [
      'a root that is not an object',
      { type: 'string' },
      [`${P}.type: Invalid value: "string": must be object at the root`],
    ],
    [
      'a type under anyOf',
      { type: 'object', properties: { a: { type: 'string', anyOf: [{ type: 'string' }] } } },
      [`${P}.properties[a].anyOf[0].type: Forbidden: must be empty to be structural`],
    ],
    [
      'metadata beyond name',
      { type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } },
      [
        `${P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
      ],
    ],
    [
      'properties next to additionalProperties',
      {
        type: 'object',
        properties: {
          m: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
        },
      },
      [`${P}.properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`],
    ],
    [
      'uniqueItems',
      { type: 'object', properties: { l: { type: 'array', uniqueItems: true, items: { type: 'string' } } } },
      [
        `${P}.properties[l].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
      ],
    ],
    [
      'an embedded resource that is not an object',
      {
        type: 'object',
        properties: {
          e: { type: 'string', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
      [`${P}.properties[e].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true`],
    ],
    [
      'a default its own schema refuses',
      { type: 'object', properties: { r: { type: 'integer', minimum: 1, default: 0 } } },
      [`${P}.properties[r].default: Invalid value: 0: in body should be greater than or equal to 1`],
    ],
    [
      'a default with unknown fields',
      {
        type: 'object',
        properties: { o: { type: 'object', properties: { a: { type: 'string' } }, default: { a: 'x', b: 1 } } },
      },
      [`${P}.properties[o].default: Invalid value: {"a":"x","b":1}: must not have unknown fields`],
    ],
  ])('refuses %s', (_what, schema, want) => {
    expect(validateStructural(schema, P).map((c) => `${c.field}: ${c.message}`)).toEqual(want);
  });

  it.each([
    ['int-or-string without a type', { type: 'object', properties: { port: { 'x-kubernetes-int-or-string': true } } }],
    [
      'int-or-string with the anyOf pattern',
      {
        type: 'object',
        properties: { port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } },
      },
    ],
    [
      'preserve-unknown-fields without a type',
      { type: 'object', properties: { free: { 'x-kubernetes-preserve-unknown-fields': true } } },
    ],
    [
      'RE2 patterns (escaped punctuation, (?i), POSIX classes)',
      {
        type: 'object',
        properties: {
          a: { type: 'string', pattern: '^[a-z\\_\\:]+$' },
          b: { type: 'string', pattern: '(?i)^abc$' },
          c: { type: 'string', pattern: '^[[:alpha:]]+\\z' },
        },
      },
    ],
    [
      'metadata with name only',
      {
        type: 'object',
        properties: { metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 20 } } } },
      },
    ],
  ])('accepts %s', (_what, schema) => {
    expect(validateStructural(schema, P)).toEqual([]);
  });
});
