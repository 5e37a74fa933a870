// CRD x-kubernetes-validations with the real kubectl: a rule relating two fields, a
// transition rule keeping a field immutable, a messageExpression and a reason; violating
// objects are refused with Kubernetes' messages, valid ones accepted, a CRD with a rule
// that does not compile refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: scalers.cel.example.com
spec:
  group: cel.example.com
  scope: Namespaced
  names: {plural: scalers, singular: scaler, kind: Scaler}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: self.minReplicas <= self.replicas
              message: minReplicas cannot be larger than replicas
            - rule: self.tier == oldSelf.tier
              message: tier is immutable
            - rule: self.tags.all(t, t.lowerAscii() == t)
              messageExpression: '"tags must be lower case, got " + self.tags.filter(t, t.lowerAscii() != t).join(", ")'
              fieldPath: .tags
            properties:
              replicas: {type: integer}
              minReplicas: {type: integer}
              tier: {type: string, maxLength: 20}
              tags:
                type: array
                maxItems: 10
                items: {type: string, maxLength: 32}
              owner:
                type: string
                maxLength: 63
                x-kubernetes-validations:
                - {rule: 'self != "root"', reason: FieldValueForbidden, message: root may not own scalers}
`;

const obj = (name: string, spec: string) => `apiVersion: cel.example.com/v1
kind: Scaler
metadata: {name: ${name}}
spec: ${spec}
`;

describe('CRD x-kubernetes-validations with kubectl', () => {
  let s: ServerProc;
  beforeAll(async () => {
    expect(kubectlAvailable()).toBe(true);
    s = await startServer();
    expect(k(s, ['apply', '-f', '-'], CRD)).toContain(
      'customresourcedefinition.apiextensions.k8s.io/scalers.cel.example.com created',
    );
    k(s, ['wait', '--for', 'condition=established', '--timeout=30s', 'crd/scalers.cel.example.com']);
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
  });

  it('accepts a valid object and refuses violations with the rule messages', () => {
    expect(
      k(s, ['create', '-f', '-'], obj('good', '{replicas: 3, minReplicas: 1, tier: gold, tags: [a, b]}')),
    ).toContain('scaler.cel.example.com/good created');
    const bad = kubectl(s, ['create', '-f', '-'], {
      input: obj('bad', '{replicas: 1, minReplicas: 5, tier: gold, tags: [a, Big], owner: root}'),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The Scaler "bad" is invalid: ');
    expect(bad.stderr).toContain('spec: Invalid value: "object": minReplicas cannot be larger than replicas');
    expect(bad.stderr).toContain('spec.tags: Invalid value: "object": tags must be lower case, got Big');
    expect(bad.stderr).toContain('spec.owner: Forbidden: root may not own scalers');
    expect(kubectl(s, ['get', 'scaler', 'bad']).code).not.toBe(0);
  });

  it('a transition rule keeps a field immutable on apply and patch', () => {
    expect(k(s, ['apply', '-f', '-'], obj('t', '{replicas: 2, minReplicas: 1, tier: gold, tags: []}'))).toContain(
      'scaler.cel.example.com/t created',
    );
    expect(k(s, ['apply', '-f', '-'], obj('t', '{replicas: 4, minReplicas: 1, tier: gold, tags: []}'))).toContain(
      'scaler.cel.example.com/t configured',
    );
    const changed = kubectl(s, ['apply', '-f', '-'], {
      input: obj('t', '{replicas: 4, minReplicas: 1, tier: silver, tags: []}'),
    });
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('The Scaler "t" is invalid: spec: Invalid value: "object": tier is immutable');
    const patched = kubectl(s, ['patch', 'scaler', 't', '--type=merge', '-p', '{"spec":{"tier":"bronze"}}']);
    expect(patched.stderr).toContain('tier is immutable');
    expect(JSON.parse(k(s, ['get', 'scaler', 't', '-o', 'json'])).spec).toMatchObject({ replicas: 4, tier: 'gold' });
  });

  it('refuses a CRD whose rule does not compile', () => {
    const broken = CRD.replace('scalers.cel.example.com', 'brokens.cel.example.com')
      .replace('{plural: scalers, singular: scaler, kind: Scaler}', '{plural: brokens, singular: broken, kind: Broken}')
      .replace('rule: self.minReplicas <= self.replicas', 'rule: self.minReplica <= self.replicas');
    const r = kubectl(s, ['create', '-f', '-'], { input: broken });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'The CustomResourceDefinition "brokens.cel.example.com" is invalid: spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.minReplica <= self.replicas"',
    );
    expect(r.stderr).toContain("compilation failed: ERROR: <input>:1:5: undefined field 'minReplica'");
    expect(kubectl(s, ['get', 'crd', 'brokens.cel.example.com']).code).not.toBe(0);
  });
});
