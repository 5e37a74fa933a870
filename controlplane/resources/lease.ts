// coordination.k8s.io/v1 Lease: node heartbeats and leader election; NAME/HOLDER/AGE.
import type { StatusCause } from '../../proto/meta.js';
import type { LeaseSpec } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

function validateLeaseSpec(spec: LeaseSpec | null | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  for (const k of ['leaseDurationSeconds'] as const) {
    const v = spec?.[k];
    if (v !== undefined && v !== null && !(typeof v === 'number' && v > 0))
      out.push(field.invalid(`spec.${k}`, v, 'must be greater than 0'));
  }
  const t = spec?.leaseTransitions;
  if (t !== undefined && t !== null && !(typeof t === 'number' && t >= 0))
    out.push(field.invalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
  return out;
}

export const lease: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  resource: 'leases',
  singular: 'lease',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'Lease',

  validate: (obj) => [
    ...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }),
    ...validateLeaseSpec(obj.spec),
  ],

  columns: [
    nameColumn(),
    col('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'),
    ageColumn(),
  ],
  row: (obj, now) => [obj.metadata?.name ?? '', obj.spec?.holderIdentity ?? '', ageOf(obj, now)],
};
