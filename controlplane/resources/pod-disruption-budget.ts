// policy/v1 PodDisruptionBudget: minAvailable xor maxUnavailable, selector validation,
// zeroed status counters and the MIN AVAILABLE/MAX UNAVAILABLE/ALLOWED DISRUPTIONS row.
import type { StatusCause } from '../../proto/meta.js';
import type { PodDisruptionBudgetSpec } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { validateLabelSelector } from './label-selector.js';
import { invalidRendered, isRecord, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { notMoreThan100Percent, validateIntOrPercent, zeroStatus } from './workload.js';

/** a PodDisruptionBudget spec as the schema decoder leaves it: an object, its fields of their JSON types */
const isPDBSpec = (v: unknown): v is PodDisruptionBudgetSpec => isRecord(v);

function validatePDBSpec(spec: unknown): StatusCause[] {
  if (!isPDBSpec(spec)) return [];
  const out: StatusCause[] = [];
  const has = (v: unknown): boolean => v !== undefined && v !== null;
  if (has(spec.minAvailable) && has(spec.maxUnavailable)) {
    out.push(
      invalidRendered(
        'spec.minAvailable',
        String(spec.minAvailable),
        'minAvailable and maxUnavailable cannot be both set',
      ),
    );
  }
  for (const k of ['minAvailable', 'maxUnavailable'] as const) {
    out.push(...validateIntOrPercent(spec[k], `spec.${k}`), ...notMoreThan100Percent(spec[k], `spec.${k}`));
  }
  out.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy && !['AlwaysAllow', 'IfHealthyBudget'].includes(policy)) {
    out.push(field.notSupported('spec.unhealthyPodEvictionPolicy', policy, ['AlwaysAllow', 'IfHealthyBudget']));
  }
  return out;
}

const intOrString = (v: unknown): string => (v === undefined || v === null ? 'N/A' : String(v));

export const podDisruptionBudget: ResourceDef = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  resource: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  namespaced: true,
  shortNames: ['pdb'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'PodDisruptionBudget',

  prepareForCreate(obj) {
    zeroStatus(obj, ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']);
  },

  validate: (obj) => [
    ...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }),
    ...validatePDBSpec(obj.spec),
  ],

  columns: [
    nameColumn(),
    col('Min Available', 'string', 'The minimum number of pods that must be available.'),
    col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
    col('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
    ageColumn(),
  ],
  row: (obj, now) => [
    obj.metadata?.name ?? '',
    intOrString(obj.spec?.minAvailable),
    intOrString(obj.spec?.maxUnavailable),
    obj.status?.disruptionsAllowed ?? 0,
    ageOf(obj, now),
  ],
};
