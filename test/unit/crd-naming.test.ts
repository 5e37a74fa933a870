// The naming controller's decision: names held by another CRD of the group are not
// accepted (NamesAccepted False with Kubernetes' reason and message), accepted names stay.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { approvalCondition, calculateNames } from '../../controlplane/crd/crd-naming.js';

function crd(
  name: string,
  names: Record<string, unknown>,
  accepted?: Record<string, unknown>,
  group = 'example.com',
): KubeObject {
  return {
    metadata: { name },
    spec: { group, names },
    status: accepted
      ? {
          acceptedNames: accepted,
          conditions: [
            {
              type: 'Established',
              status: 'True',
              reason: 'InitialNamesAccepted',
              message: 'the initial names have been accepted',
            },
          ],
        }
      : {},
  };
}

const held = crd(
  'foos.example.com',
  {},
  { plural: 'foos', singular: 'foo', kind: 'Foo', listKind: 'FooList', shortNames: ['f'] },
);

describe('CRD names', () => {
  it('accepts free names and establishes', () => {
    const r = calculateNames(
      crd('bars.example.com', { plural: 'bars', singular: 'bar', kind: 'Bar', listKind: 'BarList', shortNames: ['b'] }),
      [held],
    );
    expect(r.namesAccepted).toMatchObject({ status: 'True', reason: 'NoConflicts', message: 'no conflicts found' });
    expect(r.established).toMatchObject({ status: 'True', reason: 'InitialNamesAccepted' });
    expect(r.acceptedNames).toMatchObject({ plural: 'bars', kind: 'Bar', shortNames: ['b'] });
  });

  it.each([
    [
      'plural',
      { plural: 'foos', singular: 'x', kind: 'X', listKind: 'XList' },
      'PluralConflict',
      '"foos" is already in use',
    ],
    [
      'short name',
      { plural: 'xs', singular: 'x', kind: 'X', listKind: 'XList', shortNames: ['f'] },
      'ShortNamesConflict',
      '"f" is already in use',
    ],
    [
      'kind',
      { plural: 'xs', singular: 'x', kind: 'Foo', listKind: 'XList' },
      'KindConflict',
      '"Foo" is already in use',
    ],
  ])('refuses a %s another CRD of the group holds', (_what, names, reason, message) => {
    const r = calculateNames(crd('xs.example.com', names), [held]);
    expect(r.namesAccepted).toMatchObject({ status: 'False', reason, message });
    expect(r.established).toMatchObject({
      status: 'False',
      reason: 'NotAccepted',
      message: 'not all names are accepted',
    });
  });

  it('ignores CRDs of other groups', () => {
    const r = calculateNames(
      crd(
        'foos.other.com',
        { plural: 'foos', singular: 'foo', kind: 'Foo', listKind: 'FooList' },
        undefined,
        'other.com',
      ),
      [held],
    );
    expect(r.namesAccepted.status).toBe('True');
  });
});

describe('API approval', () => {
  it.each([
    ['example.com', undefined, undefined],
    [
      'gateway.networking.k8s.io',
      'https://github.com/kubernetes-sigs/gateway-api/pull/2466',
      {
        status: 'True',
        reason: 'ApprovedAnnotation',
        message: 'approved in https://github.com/kubernetes-sigs/gateway-api/pull/2466',
      },
    ],
    [
      'snapshot.storage.k8s.io',
      'unapproved, testing',
      { status: 'False', reason: 'UnapprovedAnnotation', message: 'not approved: "unapproved, testing"' },
    ],
  ])('%s %s', (group, annotation, want) => {
    const o: KubeObject = {
      metadata: { name: 'x', annotations: annotation ? { 'api-approved.kubernetes.io': annotation } : {} },
      spec: { group },
    };
    const c = approvalCondition(o);
    if (want === undefined) expect(c).toBeUndefined();
    else expect(c).toMatchObject({ type: 'KubernetesAPIApprovalPolicyConformant', ...want });
  });
});
