// apps/v1 ControllerRevision: the DaemonSet and StatefulSet history that `kubectl rollout
// history/undo` reads. Validation as ValidateControllerRevision(Update): data is required
// and immutable, revision non-negative. Table NAME/CONTROLLER/REVISION/AGE as kubectl prints it.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { immutable, nameIsDNSSubdomain, validateNonnegative, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const REVISION_DESCRIPTION = 'Revision indicates the revision of the state represented by Data.';

function validateControllerRevision(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  if (obj.data === undefined || obj.data === null) out.push(field.required('data', 'data is mandatory'));
  out.push(...validateNonnegative(obj.revision, 'revision'));
  if (old && canonicalJson(obj.data ?? null) !== canonicalJson(old.data ?? null))
    out.push(immutable('data', canonicalJson(obj.data ?? null)));
  return out;
}

/** formatResourceName with the group kind: `daemonset.apps/name`; `<none>` without a controller */
function controllerCell(obj: KubeObject): string {
  const ref = (obj.metadata?.ownerReferences ?? []).find((r) => r?.controller === true);
  if (!ref) return '<none>';
  const slash = (ref.apiVersion ?? '').indexOf('/');
  const group = slash >= 0 ? ref.apiVersion.slice(0, slash) : '';
  const kind = (ref.kind ?? '').toLowerCase();
  return `${group ? `${kind}.${group}` : kind}/${ref.name}`;
}

export const controllerRevision: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  resource: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'ControllerRevision',

  defaults(obj) {
    if (obj.revision === undefined || obj.revision === null) obj.revision = 0;
  },

  validate: (obj, old) => validateControllerRevision(obj, old),

  columns: [
    nameColumn(),
    col('Controller', 'string', 'Controller of the object'),
    col('Revision', 'string', REVISION_DESCRIPTION),
    ageColumn(),
  ],
  row: (obj, now) => [obj.metadata?.name ?? '', controllerCell(obj), Number(obj.revision ?? 0), ageOf(obj, now)],
};
