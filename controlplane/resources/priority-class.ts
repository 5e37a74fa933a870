// scheduling.k8s.io/v1 PriorityClass: SetDefaults_PriorityClass, ValidatePriorityClass(Update)
// (reserved `system-` names, the 1e9 ceiling of user classes, immutable value and
// preemptionPolicy), the Priority plugin's one-globalDefault rule, the two system classes
// skiff-server seeds, and the printers' table (NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY).
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { ApiError, field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { immutable, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { AdmissionContext, ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASS_PREFIX = 'system-';
export const PREEMPTION_POLICIES = ['PreemptLowerPriority', 'Never'];

/** scheduling.SystemPriorityClasses(): created by skiff-server on every start */
export const SYSTEM_PRIORITY_CLASSES: ReadonlyArray<{ name: string; value: number; description: string }> = [
  {
    name: 'system-node-critical',
    value: 2_000_001_000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    name: 'system-cluster-critical',
    value: 2_000_000_000,
    description:
      'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

export function systemPriorityClassObject(c: { name: string; value: number; description: string }): KubeObject {
  return {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: c.name },
    value: c.value,
    description: c.description,
    preemptionPolicy: 'PreemptLowerPriority',
  };
}

/** scheduling.IsKnownSystemPriorityClass: the reason a system- name is refused, or undefined */
function systemClassError(name: string, value: unknown, globalDefault: boolean): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${known.value}`;
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

export function validatePriorityClass(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const out = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const name = obj.metadata?.name ?? '';
  const value = obj.value;
  if (typeof value !== 'number' || !Number.isInteger(value)) out.push(field.required('value'));
  if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const err = systemClassError(name, value, obj.globalDefault === true);
    if (err)
      out.push(
        field.forbidden(
          'metadata.name',
          `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${err}`,
        ),
      );
  } else if (typeof value === 'number' && value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    out.push(
      field.forbidden(
        'value',
        `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
      ),
    );
  }
  const policy = obj.preemptionPolicy;
  if (policy !== undefined && !PREEMPTION_POLICIES.includes(String(policy)))
    out.push(field.notSupported('preemptionPolicy', policy, PREEMPTION_POLICIES));
  if (old) {
    if (obj.value !== old.value) out.push(field.forbidden('value', 'may not be changed in an update.'));
    if (obj.preemptionPolicy !== old.preemptionPolicy) {
      out.push(immutable('preemptionPolicy', JSON.stringify(obj.preemptionPolicy ?? null)));
    }
  }
  return out;
}

/** getDefaultPriorityClass: the globalDefault class (the lowest value if a race left several) */
export function defaultPriorityClass(classes: KubeObject[]): KubeObject | undefined {
  let best: KubeObject | undefined;
  for (const pc of classes) {
    if (pc.globalDefault !== true || pc.metadata?.deletionTimestamp) continue;
    if (!best || Number(best.value) > Number(pc.value)) best = pc;
  }
  return best;
}

/** the Priority plugin's validatePriorityClass: only one globalDefault class may exist */
async function admitGlobalDefault(obj: KubeObject, old: KubeObject | undefined, ctx: AdmissionContext): Promise<void> {
  if (obj.globalDefault !== true) return;
  const dpc = defaultPriorityClass(await ctx.list('scheduling.k8s.io', 'v1', 'priorityclasses'));
  if (!dpc) return;
  const name = obj.metadata?.name ?? '';
  if (!old || dpc.metadata?.name !== name) {
    throw new ApiError(
      403,
      'Forbidden',
      `priorityclasses.scheduling.k8s.io "${name}" is forbidden: PriorityClass ${dpc.metadata?.name ?? ''} is already marked as default. Only one default can exist`,
      { name, group: 'scheduling.k8s.io', kind: 'priorityclasses' },
    );
  }
}

export const priorityClass: ResourceDef = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  resource: 'priorityclasses',
  singular: 'priorityclass',
  namespaced: false,
  shortNames: ['pc'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'PriorityClass',

  defaults(obj) {
    if (obj.value === undefined || obj.value === null) obj.value = 0;
    if (!obj.preemptionPolicy) obj.preemptionPolicy = 'PreemptLowerPriority';
  },
  admit: (obj, ctx) => admitGlobalDefault(obj, undefined, ctx),
  admitUpdate: (obj, old, ctx) => admitGlobalDefault(obj, old, ctx),
  validate: validatePriorityClass,

  columns: [
    nameColumn(),
    col(
      'Value',
      'integer',
      'value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.',
    ),
    col(
      'Global-Default',
      'boolean',
      'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.',
    ),
    ageColumn(),
    col(
      'PreemptionPolicy',
      'string',
      'preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.',
    ),
  ],
  row: (obj, now) => [
    obj.metadata?.name ?? '',
    Number(obj.value ?? 0),
    obj.globalDefault === true,
    ageOf(obj, now),
    typeof obj.preemptionPolicy === 'string' ? obj.preemptionPolicy : '',
  ],
};
