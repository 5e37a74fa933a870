// core/v1 ServiceAccount: name rules and the NAME/SECRETS/AGE table.
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

export const serviceAccount: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  resource: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  categories: [],
  verbs: ALL_VERBS,
  // served by controlplane/serviceaccount/routes.ts (TokenRequest)
  subresources: ['token'],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'ServiceAccount',

  validate: (obj) => validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }),

  columns: [
    nameColumn(),
    col(
      'Secrets',
      'string',
      'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
    ),
    ageColumn(),
  ],
  row: (obj, now) => [obj.metadata?.name ?? '', Array.isArray(obj.secrets) ? obj.secrets.length : 0, ageOf(obj, now)],
};
