// CEL validation work is linear in the custom resource: a schema without
// x-kubernetes-validations visits nothing, subtrees without rules are skipped, and map-list
// items correlate with old items through one key per item (counted, never timed).
import { beforeEach, describe, expect, it } from 'vitest';
import type { JSONSchemaProps } from '../../controlplane/crd/schema-types.js';
import { celCauses, celWork, hasRules, validateCel } from '../../controlplane/crd/cel/validator.js';

const N = 50_000;
const listMap = (itemRules: unknown[] = []): JSONSchemaProps => ({
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        other: { type: 'object', properties: { deep: { type: 'array', items: { type: 'string' } } } },
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            ...(itemRules.length ? { 'x-kubernetes-validations': itemRules } : {}),
            properties: { name: { type: 'string' }, port: { type: 'integer' } },
          },
        },
      },
    },
  },
});
const cr = (n: number, bump = 0, at = -1) => ({
  apiVersion: 'x.io/v1',
  kind: 'X',
  metadata: { name: 'a' },
  spec: {
    other: { deep: Array.from({ length: 100 }, (_, i) => `s${i}`) },
    ports: Array.from({ length: n }, (_, i) => ({ name: `p${i}`, port: i === at ? i + bump : i })),
  },
});

describe('CEL validation work', () => {
  beforeEach(() => {
    celWork.nodes = 0;
    celWork.keys = 0;
  });

  it('hasRules sees rules on the node, items, properties and additionalProperties', () => {
    expect(hasRules(listMap())).toBe(false);
    expect(hasRules(listMap([{ rule: 'true' }]))).toBe(true);
    expect(
      hasRules({
        type: 'object',
        additionalProperties: { type: 'object', 'x-kubernetes-validations': [{ rule: 'true' }] },
      }),
    ).toBe(true);
    expect(hasRules({ type: 'object', 'x-kubernetes-validations': [] })).toBe(false);
  });

  it(`a schema without rules visits no node of a ${N}-item list-map update`, () => {
    expect(validateCel(listMap(), cr(N), cr(N))).toEqual([]);
    expect(celWork).toEqual({ nodes: 0, keys: 0 });
  });

  it('without rules a type error adds no "rules were not checked" cause (celValidator is nil)', () => {
    expect(
      celCauses(listMap(), cr(1), undefined, [
        {
          reason: 'FieldValueTypeInvalid',
          message: 'Invalid value: "x": spec.ports must be of type array',
          field: 'spec.ports',
        },
      ]),
    ).toEqual([]);
    expect(
      celCauses(listMap([{ rule: 'true' }]), cr(1), undefined, [
        {
          reason: 'FieldValueTypeInvalid',
          message: 'Invalid value: "x": spec.ports must be of type array',
          field: 'spec.ports',
        },
      ]),
    ).toHaveLength(1);
  });

  it(`one item rule on a ${N}-item list-map update: at most 2 keys per item, subtrees without rules skipped`, () => {
    const s = listMap([{ rule: 'self.port == oldSelf.port', message: 'port is immutable' }]);
    expect(validateCel(s, cr(N), cr(N))).toEqual([]);
    expect(celWork.keys).toBeLessThanOrEqual(2 * N);
    // root, spec, ports and the items; not spec.other nor the items' fields
    expect(celWork.nodes).toBe(3 + N);
  });

  it('correlation by key still finds the changed item among many', () => {
    const s = listMap([{ rule: 'self.port == oldSelf.port', message: 'port is immutable' }]);
    const causes = validateCel(s, cr(N, 1, N - 1), cr(N)).map((c) => `${c.field}: ${c.message}`);
    expect(causes).toEqual([`spec.ports[${N - 1}]: Invalid value: "object": port is immutable`]);
  });
});
