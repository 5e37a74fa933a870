// apiextensions.k8s.io/v1 CustomResourceDefinition as a kind: cluster-scoped, short
// names crd/crds, category api-extensions, a status subresource, and the default table
// (NAME, CREATED AT) apiextensions-apiserver serves for it.
import type { KubeObject } from '../../proto/meta.js';
import { NAME_DESCRIPTION } from '../resources/columns.js';
import type { ResourceDef } from '../resources/types.js';
import { ALL_VERBS } from '../resources/verbs.js';
import { CLEANUP_FINALIZER, defaultCrd, prepareCrdForCreate, validateCrd } from './crd-validation.js';

const CREATED_AT_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

export const customResourceDefinition: ResourceDef = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  resource: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'CustomResourceDefinition',
  prepareForCreate: prepareCrdForCreate,
  // REST Delete: the first delete adds customresourcecleanup, the CRD controller removes it
  deleteFinalizers: [CLEANUP_FINALIZER],
  defaults: defaultCrd,
  validate: (obj: KubeObject, old?: KubeObject) => validateCrd(obj, old),
  validateStatus: (obj: KubeObject, old: KubeObject) => validateCrd(obj, old),
  columns: [
    { name: 'Name', type: 'string', format: 'name', description: NAME_DESCRIPTION, priority: 0 },
    { name: 'Created At', type: 'date', format: '', description: CREATED_AT_DESCRIPTION, priority: 0 },
  ],
  // rest.DefaultTableConvertor: the creation time in RFC 3339, not an age
  row: (obj: KubeObject) => [obj.metadata.name ?? '', obj.metadata.creationTimestamp ?? ''],
};
