// apps/v1 DaemonSet: RollingUpdate maxUnavailable 1 / maxSurge 0 by default,
// ValidateDaemonSetSpec and the DESIRED/CURRENT/READY/UP-TO-DATE/AVAILABLE row.
import type { StatusCause } from '../../proto/meta.js';
import type { DaemonSetSpec, DaemonSetUpdateStrategy } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import {
  ageColumn,
  col,
  containerCells,
  containersColumn,
  imagesColumn,
  nameColumn,
  selectorColumn,
} from './columns.js';
import { goLabelSelector } from './go-format.js';
import {
  formatLabelSelector,
  formatLabels,
  isEmptySelector,
  selectorMatches,
  validateLabelSelector,
} from './label-selector.js';
import {
  invalidRendered,
  isRecord,
  nameIsDNSSubdomain,
  validateNonnegative,
  validateObjectMeta,
} from './meta-validation.js';
import { defaultPodTemplate } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import {
  intOrPercentValue,
  notMoreThan100Percent,
  selectorMismatch,
  validateAlwaysRunningTemplate,
  validateIntOrPercent,
  validateSelectorImmutable,
  zeroStatus,
} from './workload.js';

/** a DaemonSet spec as the schema decoder leaves it: an object, its fields of their JSON types (required ones may be missing) */
const isDaemonSetSpec = (v: unknown): v is Partial<DaemonSetSpec> => isRecord(v);

function validateUpdateStrategy(strategy: DaemonSetUpdateStrategy | undefined): StatusCause[] {
  const path = 'spec.updateStrategy';
  if (strategy?.type === 'OnDelete') return [];
  if (strategy?.type === 'RollingUpdate') {
    const ru = strategy.rollingUpdate;
    if (!isRecord(ru)) return [field.required(`${path}.rollingUpdate`)];
    const p = `${path}.rollingUpdate`;
    const out = [
      ...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
      ...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
    ];
    out.push(
      ...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`),
      ...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`),
    );
    // Exactly one of maxUnavailable / maxSurge must be non-zero.
    const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
    const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
    if (hasUnavailable && hasSurge)
      out.push(invalidRendered(`${p}.maxSurge`, String(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
    if (!hasUnavailable && !hasSurge) out.push(field.required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
    return out;
  }
  return [field.notSupported(path, strategy?.type ?? '', ['RollingUpdate', 'OnDelete'])];
}

function validateDaemonSetSpec(spec: unknown): StatusCause[] {
  if (!isDaemonSetSpec(spec)) return [field.required('spec')];
  const out: StatusCause[] = [];
  const sel = spec.selector;
  if (sel === undefined || sel === null) out.push(field.required('spec.selector'));
  else out.push(...validateLabelSelector(sel, 'spec.selector'));
  const labels = spec.template?.metadata?.labels;
  // A nil selector matches nothing, so its template labels never match either.
  if (!selectorMatches(sel, labels) && isRecord(spec.template)) out.push(selectorMismatch('spec.template', labels));
  if (isRecord(sel) && isEmptySelector(sel))
    out.push(invalidRendered('spec.selector', goLabelSelector(sel), 'empty selector is invalid for daemonset'));
  // Selector matching was reported above with DaemonSet's own ordering.
  out.push(...validateAlwaysRunningTemplate(spec, 'spec', 'DaemonSet', undefined));
  out.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  out.push(...validateUpdateStrategy(spec.updateStrategy));
  out.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  return out;
}

export const daemonSet: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  resource: 'daemonsets',
  singular: 'daemonset',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'DaemonSet',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    const spec = obj.spec;
    if (!isRecord(spec.updateStrategy)) spec.updateStrategy = {};
    if (!spec.updateStrategy.type) spec.updateStrategy.type = 'RollingUpdate';
    if (spec.updateStrategy.type === 'RollingUpdate') {
      if (!isRecord(spec.updateStrategy.rollingUpdate)) spec.updateStrategy.rollingUpdate = {};
      const ru = spec.updateStrategy.rollingUpdate;
      if (ru.maxUnavailable === undefined || ru.maxUnavailable === null) ru.maxUnavailable = 1;
      if (ru.maxSurge === undefined || ru.maxSurge === null) ru.maxSurge = 0;
    }
    if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit === null) spec.revisionHistoryLimit = 10;
    if (!isRecord(spec.template)) spec.template = {};
    defaultPodTemplate(spec.template);
  },

  prepareForCreate(obj) {
    zeroStatus(obj, ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady']);
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateDaemonSetSpec(obj.spec));
    out.push(...validateSelectorImmutable(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col(
      'Desired',
      'integer',
      'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).',
    ),
    col(
      'Current',
      'integer',
      'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.',
    ),
    col(
      'Ready',
      'integer',
      'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.',
    ),
    col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'),
    col(
      'Available',
      'integer',
      'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)',
    ),
    col(
      'Node Selector',
      'string',
      "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node.",
    ),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    selectorColumn('A label query over pods that are managed by the daemon set. Must match in order to be controlled.'),
  ],

  row(obj, now) {
    const st = obj.status ?? {};
    const [names, images] = containerCells(obj.spec?.template?.spec);
    return [
      obj.metadata?.name ?? '',
      st.desiredNumberScheduled ?? 0,
      st.currentNumberScheduled ?? 0,
      st.numberReady ?? 0,
      st.updatedNumberScheduled ?? 0,
      st.numberAvailable ?? 0,
      formatLabels(obj.spec?.template?.spec?.nodeSelector),
      ageOf(obj, now),
      names,
      images,
      formatLabelSelector(obj.spec?.selector),
    ];
  },
};
