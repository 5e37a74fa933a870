// Custom resources against their CRD's structural schema: kube-openapi's validation
// messages as apiextensions-apiserver turns them into field errors, pruning of unknown
// fields, defaulting, and the int-or-string and embedded-resource extensions.
import { describe, expect, it } from 'vitest';
import { validateValue } from '../../controlplane/crd/schema-validation.js';
import { applyDefaults, prune } from '../../controlplane/crd/prune-default.js';
import type { JSONSchemaProps } from '../../controlplane/crd/schema-types.js';
import { customResourceDefs } from '../../controlplane/crd/custom-resource-def.js';
import { applyPatch } from '../../controlplane/api/patch/apply.js';

const schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['cronSpec'],
      properties: {
        cronSpec: { type: 'string', pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$' },
        image: { type: 'string', maxLength: 5, minLength: 2 },
        replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
        ratio: { type: 'number', exclusiveMaximum: true, maximum: 1 },
        mode: { type: 'string', enum: ['Fast', 'Slow'], default: 'Fast' },
        tags: { type: 'array', maxItems: 2, minItems: 1, items: { type: 'string' } },
        ports: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, port: { 'x-kubernetes-int-or-string': true } },
          },
        },
        email: { type: 'string', format: 'email' },
        at: { type: 'string', format: 'date-time' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
          properties: { known: { type: 'object', properties: { a: { type: 'string' } } } },
        },
        template: {
          type: 'object',
          'x-kubernetes-embedded-resource': true,
          'x-kubernetes-preserve-unknown-fields': true,
        },
        opt: { type: 'string', nullable: true },
      },
    },
  },
};

const errs = (spec: Record<string, unknown>) =>
  validateValue(schema, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'a' }, spec }, '').map(
    (c) => `${c.field}: ${c.message}`,
  );

describe('schema validation messages', () => {
  it.each([
    [
      { replicas: 'three' },
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    ],
    [
      { replicas: 1.5 },
      'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"',
    ],
    [{ replicas: 0 }, 'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1'],
    [{ replicas: 11 }, 'spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10'],
    [{ ratio: 1 }, 'spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1'],
    [{ mode: 'Medium' }, 'spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"'],
    [
      { cronSpec: 'nope' },
      'spec.cronSpec: Invalid value: "nope": spec.cronSpec in body should match \'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$\'',
    ],
    [{ image: 'toolong' }, 'spec.image: Too long: may not be more than 5 bytes'],
    [{ image: 'a' }, 'spec.image: Invalid value: "a": spec.image in body should be at least 2 chars long'],
    [{ tags: ['a', 'b', 'c'] }, 'spec.tags: Too many: 3: must have at most 2 items'],
    [{ tags: [] }, 'spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items'],
    [{ ports: [{ port: 80 }] }, 'spec.ports[0].name: Required value'],
    [
      { ports: [{ name: 'a', port: true }] },
      'spec.ports[0].port: Invalid value: "boolean": spec.ports[0].port in body must be of type integer,string: "boolean"',
    ],
    [{ email: 'nobody' }, 'spec.email: Invalid value: "nobody": spec.email in body must be of type email: "nobody"'],
    [
      { at: 'yesterday' },
      'spec.at: Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"',
    ],
    [
      { labels: { a: 1 } },
      'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
    ],
    [{ template: { metadata: {} } }, 'spec.template.apiVersion: Required value: must not be empty'],
  ])('%j', (spec, want) => {
    expect(errs({ cronSpec: '* * * * *', ...spec })).toContain(want);
  });

  it('a missing required field is Required value; a valid object has no errors; null only where nullable', () => {
    expect(errs({})).toEqual(['spec.cronSpec: Required value']);
    expect(
      errs({
        cronSpec: '*/5 * * * *',
        ports: [
          { name: 'http', port: 'http' },
          { name: 'b', port: 80 },
        ],
        opt: null,
        at: '2026-01-02T03:04:05Z',
      }),
    ).toEqual([]);
    expect(errs({ cronSpec: '* * * * *', image: null })).toEqual([
      'spec.image: Invalid value: "null": spec.image in body must be of type string: "null"',
    ]);
  });
});

describe('metadata', () => {
  it('only name and generateName are checked against the schema', () => {
    const s: JSONSchemaProps = {
      type: 'object',
      properties: { metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 5 } } } },
    };
    expect(
      validateValue(s, { metadata: { name: 'toolong', labels: { a: 'b' } } }, '').map(
        (c) => `${c.field}: ${c.message}`,
      ),
    ).toEqual(['metadata.name: Too long: may not be more than 5 bytes']);
    expect(validateValue(s, { metadata: { name: 'ok', labels: { a: 'b' } } }, '')).toEqual([]);
  });
});

describe('RE2 patterns', () => {
  it('are matched as Go matches them', () => {
    expect(validateValue({ type: 'string', pattern: '(?i)^abc$' }, 'ABC', 'x')).toEqual([]);
    expect(validateValue({ type: 'string', pattern: '^[[:alpha:]]+\\z' }, 'ab1', 'x').map((c) => c.message)).toEqual([
      'Invalid value: "ab1": x in body should match \'^[[:alpha:]]+\\z\'',
    ]);
  });
});

describe('pruning and defaulting', () => {
  it('drops unknown fields (reporting their paths), keeps preserved and embedded ones, and root metadata', () => {
    const o = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a' },
      extra: 1,
      spec: {
        cronSpec: 'x',
        bogus: true,
        ports: [{ name: 'a', nope: 1 }],
        free: { anything: 1, known: { a: 'x', b: 'y' } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', bogus: 1 }, spec: { x: 1 } },
      },
    };
    expect(prune(o, schema).sort()).toEqual([
      'extra',
      'spec.bogus',
      'spec.free.known.b',
      'spec.ports[0].nope',
      'spec.template.metadata.bogus',
    ]);
    expect(o).toEqual({
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a' },
      spec: {
        cronSpec: 'x',
        ports: [{ name: 'a' }],
        free: { anything: 1, known: { a: 'x' } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 1 } },
      },
    });
  });

  it('fills absent fields and nulls of non-nullable fields with their default, drops other nulls', () => {
    const o: Record<string, unknown> = { spec: { cronSpec: 'x', mode: null, image: null, opt: null } };
    applyDefaults(o, schema);
    expect(o).toEqual({ spec: { cronSpec: 'x', mode: 'Fast', replicas: 1, opt: null } });
  });
});

describe('patches of custom resources', () => {
  const crd = {
    metadata: { name: 'xs.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    ports: {
                      type: 'array',
                      'x-kubernetes-list-type': 'map',
                      'x-kubernetes-list-map-keys': ['name'],
                      items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } },
                    },
                    tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
                    args: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      ],
    },
    status: { acceptedNames: { plural: 'xs', singular: 'x', kind: 'X', listKind: 'XList' } },
  };
  const def = customResourceDefs(crd, () => false)[0]!.def;
  const cur = {
    metadata: { name: 'a' },
    spec: {
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
      tags: ['a'],
      args: ['x', 'y'],
    },
  };

  it('apply merges list-type map lists by key and sets as sets; atomic lists are replaced', () => {
    const out = applyPatch(
      'apply',
      cur,
      { spec: { ports: [{ name: 'http', port: 8080 }], tags: ['b'], args: ['z'] } },
      def,
    ) as typeof cur;
    expect(out.spec.ports).toEqual([
      { name: 'http', port: 8080 },
      { name: 'https', port: 443 },
    ]);
    expect([...out.spec.tags].sort()).toEqual(['a', 'b']);
    expect(out.spec.args).toEqual(['z']);
  });

  it('a strategic merge patch is 415, merge patch replaces lists', () => {
    expect(() => applyPatch('strategic', cur, { spec: {} }, def)).toThrow(expect.objectContaining({ code: 415 }));
    expect(
      (applyPatch('merge', cur, { spec: { ports: [{ name: 'x', port: 1 }] } }, def) as typeof cur).spec.ports,
    ).toEqual([{ name: 'x', port: 1 }]);
  });
});
