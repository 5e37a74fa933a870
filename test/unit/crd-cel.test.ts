// x-kubernetes-validations: rules passing and failing (messages, reasons, fieldPath,
// messageExpression), transition rules with oldSelf / optionalOldSelf, the Kubernetes
// extension functions, cost limits at run time and at CRD time, and compile errors.
import { describe, expect, it } from 'vitest';
import type { JSONSchemaProps } from '../../controlplane/crd/schema-types.js';
import { validateCel } from '../../controlplane/crd/cel/validator.js';
import { celRuleErrors, costErrorMessage } from '../../controlplane/crd/cel/crd-rules.js';
import { validateCrd } from '../../controlplane/crd/crd-validation.js';
import type { KubeObject } from '../../proto/meta.js';

const spec = (rules: unknown[], props: Record<string, JSONSchemaProps> = {}): JSONSchemaProps => ({
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      'x-kubernetes-validations': rules,
      properties: {
        replicas: { type: 'integer' },
        minReplicas: { type: 'integer' },
        name: { type: 'string', maxLength: 64 },
        tags: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 10 } },
        ratio: { type: 'number' },
        port: { 'x-kubernetes-int-or-string': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        ...props,
      },
    },
  },
});
const obj = (s: Record<string, unknown>) => ({ apiVersion: 'x.io/v1', kind: 'X', metadata: { name: 'a' }, spec: s });
const base = { replicas: 3, minReplicas: 1, name: 'Hello', tags: ['b', 'a'], ratio: 0.5, port: 80, labels: { a: 'x' } };
const messages = (rule: unknown, s: Record<string, unknown> = base, old?: Record<string, unknown>) =>
  validateCel(spec([rule]), obj(s), old ? obj(old) : undefined).map((c) => `${c.field}: ${c.message}`);

describe('CEL rules', () => {
  it.each([
    'self.minReplicas <= self.replicas',
    'has(self.name) && self.name.lowerAscii() == "hello" && self.name.upperAscii() == "HELLO"',
    'self.tags.all(t, t.size() > 0) && self.tags.exists(t, t == "a") && self.tags.exists_one(t, t == "b")',
    'self.tags.map(t, t + "!").filter(t, t != "a!") == ["b!"]',
    'self.name.matches("^H[a-z]+$") && !self.name.matches("^h")',
    'self.name.replace("l", "L") == "HeLLo" && self.name.split("l").size() == 3 && " x ".trim() == "x"',
    'self.name.indexOf("l") == 2 && ["a", "b"].join("-") == "a-b"',
    '[1, 2, 3].isSorted() && ![3, 1].isSorted() && [1, 2, 3].sum() == 6 && [2, 1, 3].min() == 1 && [2, 1, 3].max() == 3 && [1, 2].indexOf(2) == 1',
    'duration("1h30m") > duration("1h") && timestamp("2024-01-01T00:00:00Z") < timestamp("2025-01-01T00:00:00Z")',
    'self.ratio == 0.5 && self.port == 80 && self.labels["a"] == "x" && "a" in self.labels',
    'self.labels.all(k, k == "a") && size(self.tags) == 2',
    'isQuantity("1Gi") && !isQuantity("1Gx") && quantity("1Gi").isGreaterThan(quantity("1G")) && quantity("500m").isLessThan(quantity("1"))',
    'quantity("1500m").add(quantity("500m")).asInteger() == 2 && quantity("2").sub(3).sign() == -1 && quantity("1.5").asApproximateFloat() == 1.5 && !quantity("1.5").isInteger() && quantity("1k").compareTo(quantity("1000")) == 0',
    'isURL("https://example.com:8443/a/b?x=1&x=2") && url("https://example.com:8443/a/b?x=1").getScheme() == "https" && url("https://example.com:8443/a").getHost() == "example.com:8443" && url("https://example.com:8443/a").getHostname() == "example.com" && url("https://example.com:8443/a").getPort() == "8443" && url("https://e.com/a/b").getEscapedPath() == "/a/b" && url("https://e.com/?x=1&x=2").getQuery()["x"] == ["1", "2"] && !isURL("not a url")',
    'isIP("10.0.0.1") && isIP("fd00::1") && !isIP("10.0.0.01") && !isIP("x") && isCIDR("10.0.0.0/8") && !isCIDR("10.0.0.0/33")',
    // Kubernetes functions skiff does not evaluate: accepted, skipped
    'sets.contains([1, 2], [1]) && math.greatest(1, 2) == 5 && ip("10.0.0.1").family() == 4 && self.name.find("x") == "y"',
  ])('%s passes', (rule) => {
    expect(messages({ rule })).toEqual([]);
  });

  it('failing rules: default message, message, messageExpression, reason, fieldPath', () => {
    const bad = { ...base, minReplicas: 5 };
    expect(messages({ rule: 'self.minReplicas <= self.replicas' }, bad)).toEqual([
      'spec: Invalid value: "object": failed rule: self.minReplicas <= self.replicas',
    ]);
    expect(
      messages(
        { rule: 'self.minReplicas <= self.replicas', message: 'minReplicas cannot be larger than replicas' },
        bad,
      ),
    ).toEqual(['spec: Invalid value: "object": minReplicas cannot be larger than replicas']);
    expect(
      messages(
        {
          rule: 'self.minReplicas <= self.replicas',
          messageExpression: '"minReplicas " + string(self.minReplicas) + " > " + string(self.replicas)',
        },
        bad,
      ),
    ).toEqual(['spec: Invalid value: "object": minReplicas 5 > 3']);
    expect(
      messages({ rule: 'self.minReplicas <= self.replicas', reason: 'FieldValueForbidden', message: 'no' }, bad),
    ).toEqual(['spec: Forbidden: no']);
    expect(
      messages({ rule: 'self.minReplicas <= self.replicas', reason: 'FieldValueRequired', message: 'need' }, bad),
    ).toEqual(['spec: Required value: need']);
    expect(messages({ rule: 'self.minReplicas <= self.replicas', reason: 'FieldValueDuplicate' }, bad)).toEqual([
      'spec: Duplicate value: "object"',
    ]);
    expect(
      messages({ rule: 'self.minReplicas <= self.replicas', fieldPath: '.minReplicas', message: 'too big' }, bad),
    ).toEqual(['spec.minReplicas: Invalid value: "object": too big']);
    const r = validateCel(spec([{ rule: 'false', reason: 'FieldValueForbidden', message: 'x' }]), obj(base));
    expect(r[0].reason).toBe('FieldValueForbidden');
  });

  it('rules on scalar nodes show their type (as 1.32); root rules are at <nil>', () => {
    const s: JSONSchemaProps = {
      type: 'object',
      'x-kubernetes-validations': [{ rule: 'self.metadata.name.startsWith("ok")' }],
      properties: {
        spec: {
          type: 'object',
          properties: {
            n: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.size() < 3', message: 'short' }] },
          },
        },
      },
    };
    expect(
      validateCel(s, { apiVersion: 'x.io/v1', kind: 'X', metadata: { name: 'bad' }, spec: { n: 'long' } }).map(
        (c) => `${c.field}: ${c.message}`,
      ),
    ).toEqual([
      '<nil>: Invalid value: "object": failed rule: self.metadata.name.startsWith("ok")',
      'spec.n: Invalid value: "string": short',
    ]);
  });

  it('runtime errors', () => {
    expect(messages({ rule: 'self.labels["zz"] == "x"' })).toEqual([
      'spec: Invalid value: "object": no such key: zz evaluating rule: self.labels["zz"] == "x"',
    ]);
    expect(messages({ rule: 'self.port + 1.5 > 0.0' })).toEqual([
      'spec: Invalid value: "object": \'no such overload\': call arguments did not match a supported operator, function or macro signature for rule: self.port + 1.5 > 0.0',
    ]);
  });

  it('transition rules: only on update, oldSelf bound; optionalOldSelf on create too', () => {
    const immutable = { rule: 'self.name == oldSelf.name', message: 'name is immutable' };
    expect(messages(immutable)).toEqual([]);
    expect(messages(immutable, base, base)).toEqual([]);
    expect(messages(immutable, { ...base, name: 'Other' }, base)).toEqual([
      'spec: Invalid value: "object": name is immutable',
    ]);
    const opt = {
      rule: '!oldSelf.hasValue() || self.replicas >= oldSelf.value().replicas',
      optionalOldSelf: true,
      message: 'no scale down',
    };
    expect(messages(opt)).toEqual([]);
    expect(messages(opt, { ...base, replicas: 1, minReplicas: 0 }, base)).toEqual([
      'spec: Invalid value: "object": no scale down',
    ]);
    expect(messages({ rule: 'oldSelf.orValue(self).replicas == 3', optionalOldSelf: true })).toEqual([]);
  });

  it('date-time and duration fields are timestamps and durations; escaped property names', () => {
    const s: JSONSchemaProps = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          'x-kubernetes-validations': [
            {
              rule: 'self.start - duration("1h") < timestamp("2030-01-01T00:00:00Z") && self.start + self.every > self.start && self.start != null && self.every > duration("1m") && self.day == timestamp("2024-02-03T00:00:00Z") && self.max__dash__surge == 1',
            },
          ],
          properties: {
            start: { type: 'string', format: 'date-time' },
            every: { type: 'string', format: 'duration' },
            day: { type: 'string', format: 'date' },
            'max-surge': { type: 'integer' },
          },
        },
      },
    };
    expect(
      validateCel(s, obj({ start: '2024-01-01T00:00:00Z', every: '5m', day: '2024-02-03', 'max-surge': 1 })),
    ).toEqual([]);
    expect(
      validateCel(s, obj({ start: '2031-01-01T00:00:00Z', every: '5m', day: '2024-02-03', 'max-surge': 1 })),
    ).toHaveLength(1);
  });

  it('transition rules in map-list items correlate by key; new items are not checked', () => {
    const s: JSONSchemaProps = {
      type: 'object',
      properties: {
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            'x-kubernetes-validations': [{ rule: 'self.port == oldSelf.port', message: 'port is immutable' }],
            properties: { name: { type: 'string' }, port: { type: 'integer' } },
          },
        },
      },
    };
    const o = (ports: unknown[]) => ({ apiVersion: 'x.io/v1', kind: 'X', metadata: { name: 'a' }, ports });
    const old = o([
      { name: 'a', port: 1 },
      { name: 'b', port: 2 },
    ]);
    expect(
      validateCel(
        s,
        o([
          { name: 'b', port: 2 },
          { name: 'a', port: 1 },
          { name: 'c', port: 9 },
        ]),
        old,
      ),
    ).toEqual([]);
    expect(validateCel(s, o([{ name: 'b', port: 3 }]), old).map((c) => `${c.field}: ${c.message}`)).toEqual([
      'ports[0]: Invalid value: "object": port is immutable',
    ]);
  });

  it('ratcheting: an unchanged invalid value passes a non-transition rule on update', () => {
    const bad = { ...base, minReplicas: 5 };
    expect(messages({ rule: 'self.minReplicas <= self.replicas' }, bad, bad)).toEqual([]);
  });

  it('the per-call limit and the per-request budget', () => {
    const s = spec([{ rule: 'self.tags.all(a, self.tags.all(b, a.size() + b.size() < 100))' }], {
      tags: { type: 'array', items: { type: 'string' } },
    });
    const many = { ...base, tags: Array.from({ length: 2000 }, (_, i) => `t${i}`) };
    expect(validateCel(s, obj(many)).map((c) => c.message)).toEqual([
      'Invalid value: "object": \'operation cancelled: actual cost limit exceeded\': no further validation rules will be run due to call cost exceeds limit for rule: self.tags.all(a, self.tags.all(b, a.size() + b.size() < 100))',
    ]);
    expect(
      validateCel(
        spec([{ rule: 'true || self.replicas > 0' }, { rule: 'self.replicas > 0' }]),
        obj(base),
        undefined,
        3,
      ).map((c) => c.message),
    ).toEqual([
      'Invalid value: "object": validation failed due to running out of cost budget, no further validation rules will be run',
    ]);
  });
});

describe('CRD-time checks', () => {
  const errs = (rules: unknown[], props?: Record<string, JSONSchemaProps>) =>
    celRuleErrors(spec(rules, props), 'spec.validation.openAPIV3Schema').map((c) => `${c.field}: ${c.message}`);
  const P = 'spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0]';

  it.each([
    ['self.nope > 1', "undefined field 'nope'", 5],
    ['foo == 1', "undeclared reference to 'foo' (in container '')", 1],
    ['self.replicas == "x"', "found no matching overload for '_==_' applied to '(int, string)'", 15],
    ['self.name.bogus()', "undeclared reference to 'bogus' (in container '')", 16],
    ['math.nope(1) == 1', "undeclared reference to 'math.nope' (in container '')", 10],
  ])('%s → compilation failed', (rule, msg, col) => {
    const out = errs([{ rule }]);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain(
      `${P}.rule: Invalid value: apiextensions.ValidationRule{Rule:${JSON.stringify(rule)}, Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:${col}: ${msg}\n | ${rule}\n | ${'.'.repeat(col - 1)}^`,
    );
  });

  it('syntax errors, non-bool rules, messageExpression, fields', () => {
    expect(errs([{ rule: 'self.replicas >' }])[0]).toMatch(/compilation failed: ERROR: <input>:1:\d+: Syntax error/);
    expect(errs([{ rule: 'self.replicas' }])[0]).toContain('cel expression must evaluate to a bool');
    expect(errs([{ rule: 'true', messageExpression: 'self.replicas' }])[0]).toContain(
      `${P}.messageExpression: Invalid value: apiextensions.ValidationRule{`,
    );
    expect(errs([{ rule: 'true', messageExpression: 'self.replicas' }])[0]).toContain(
      'messageExpression must evaluate to a string',
    );
    expect(errs([{ rule: ' ' }])).toEqual([`${P}.rule: Required value: rule is not specified`]);
    expect(errs([{ rule: 'true', reason: 'Nope' }])).toEqual([
      `${P}.reason: Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"`,
    ]);
    expect(errs([{ rule: 'sets.contains([1], [1]) && isIP("1.2.3.4")' }])).toEqual([]);
    expect(errs([{ rule: 'true', fieldPath: '.nope' }])).toEqual([
      `${P}.fieldPath: Invalid value: ".nope": must be a valid path`,
    ]);
    expect(errs([{ rule: 'true', fieldPath: ".labels['a.b']" }])).toEqual([]);
    expect(errs([{ rule: 'true', optionalOldSelf: true }])).toEqual([
      `${P}.optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule`,
    ]);
    expect(errs([{ rule: 'self.replicas > 0 &&\nself.replicas < 9' }])).toEqual([
      `${P}.message: Required value: message must be specified if rule contains line breaks`,
    ]);
  });

  it('oldSelf below a non-map list is refused', () => {
    const s: JSONSchemaProps = {
      type: 'object',
      properties: {
        l: {
          type: 'array',
          maxItems: 10,
          items: { type: 'string', maxLength: 10, 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }] },
        },
      },
    };
    expect(celRuleErrors(s, 'r').map((c) => `${c.field}: ${c.message}`)).toEqual([
      'r.properties[l].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within r.properties[l]',
    ]);
  });

  it('estimated cost: unbounded nested loops are refused, maxItems makes them fine', () => {
    const rule = { rule: 'self.all(a, self.all(b, a != b || a == b))' };
    const unbounded: JSONSchemaProps = {
      type: 'object',
      properties: { l: { type: 'array', items: { type: 'string' }, 'x-kubernetes-validations': [rule] } },
    };
    expect(celRuleErrors(unbounded, 'r').map((c) => `${c.field}: ${c.message}`)).toContain(
      `r.properties[l].x-kubernetes-validations[0].rule: Forbidden: ${costErrorMessage('estimated rule cost', 1e12, 1e7)}`,
    );
    const bounded: JSONSchemaProps = {
      type: 'object',
      properties: {
        l: {
          type: 'array',
          maxItems: 100,
          items: { type: 'string', maxLength: 10 },
          'x-kubernetes-validations': [rule],
        },
      },
    };
    expect(celRuleErrors(bounded, 'r')).toEqual([]);
    expect(costErrorMessage('estimated rule cost', 1.2e7, 1e7)).toBe(
      'estimated rule cost exceeds budget by factor of 1.200000x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)',
    );
  });

  it('validateCrd reports at spec.validation for one schema, per version for different schemas', () => {
    const crd = (schemas: JSONSchemaProps[]): KubeObject => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'xs.e.io' },
      spec: {
        group: 'e.io',
        scope: 'Namespaced',
        names: { plural: 'xs', singular: 'x', kind: 'X', listKind: 'XList' },
        versions: schemas.map((s, i) => ({
          name: `v${i + 1}`,
          served: true,
          storage: i === 0,
          schema: { openAPIV3Schema: s },
        })),
      },
    });
    const bad = spec([{ rule: 'self.nope' }]);
    expect(validateCrd(crd([bad, bad])).map((c) => c.field)).toEqual([`${P}.rule`]);
    expect(validateCrd(crd([bad, spec([])])).map((c) => c.field)).toEqual([
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule',
    ]);
    // an update keeps rules the stored CRD already has (preexisting expressions)
    expect(validateCrd(crd([bad]), crd([bad]))).toEqual([]);
    expect(validateCrd(crd([bad]), crd([spec([])])).map((c) => c.field)).toEqual([`${P}.rule`]);
  });
});
