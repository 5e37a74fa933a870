// apps/v1 Deployment: SetDefaults_Deployment, ValidateDeploymentSpec (selector, template,
// strategy, progress deadline) with the immutable apps/v1 selector, and the printer row.
import type { StatusCause } from '../../proto/meta.js';
import type { DeploymentSpec, DeploymentStrategy } from '../../proto/api/types.gen.js';
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
import { selectorString } from './label-selector.js';
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
  validateAlwaysRunningTemplate,
  validateIntOrPercent,
  validateSelector,
  validateSelectorImmutable,
} from './workload.js';

/** a Deployment spec as the schema decoder leaves it: an object, its fields of their JSON types (required ones may be missing) */
const isDeploymentSpec = (v: unknown): v is Partial<DeploymentSpec> => isRecord(v);

function validateStrategy(strategy: DeploymentStrategy | undefined): StatusCause[] {
  const path = 'spec.strategy';
  const type = strategy?.type;
  if (type === 'Recreate') {
    return strategy?.rollingUpdate
      ? [field.forbidden(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'")]
      : [];
  }
  if (type === 'RollingUpdate') {
    const ru = strategy?.rollingUpdate;
    if (!isRecord(ru)) return [field.required(`${path}.rollingUpdate`, 'this should be defaulted and never be nil')];
    const p = `${path}.rollingUpdate`;
    const out = [
      ...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
      ...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
    ];
    if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
      out.push(invalidRendered(`${p}.maxUnavailable`, String(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
    }
    out.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
    return out;
  }
  return [field.notSupported(path, type ?? '', ['Recreate', 'RollingUpdate'])];
}

function validateDeploymentSpec(spec: unknown): StatusCause[] {
  if (!isDeploymentSpec(spec)) return [field.required('spec')];
  const out = validateNonnegative(spec.replicas, 'spec.replicas');
  const [selErrs, usable] = validateSelector(spec, 'spec', 'deployment');
  out.push(...selErrs);
  if (spec.selector === undefined || spec.selector === null) return out; // Required: nothing else is checked
  out.push(...validateAlwaysRunningTemplate(spec, 'spec', 'ReplicaSet', usable ? spec.selector : undefined));
  out.push(...validateStrategy(spec.strategy));
  out.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  out.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  const pds = spec.progressDeadlineSeconds;
  if (typeof pds === 'number') {
    out.push(...validateNonnegative(pds, 'spec.progressDeadlineSeconds'));
    if (pds <= (spec.minReadySeconds ?? 0))
      out.push(field.invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'));
  }
  return out;
}

export const deployment: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  resource: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status', 'scale'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'Deployment',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    const spec = obj.spec;
    if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
    if (!isRecord(spec.strategy)) spec.strategy = {};
    if (!spec.strategy.type) spec.strategy.type = 'RollingUpdate';
    if (spec.strategy.type === 'RollingUpdate') {
      if (!isRecord(spec.strategy.rollingUpdate)) spec.strategy.rollingUpdate = {};
      const ru = spec.strategy.rollingUpdate;
      if (ru.maxUnavailable === undefined || ru.maxUnavailable === null) ru.maxUnavailable = '25%';
      if (ru.maxSurge === undefined || ru.maxSurge === null) ru.maxSurge = '25%';
    }
    if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit === null) spec.revisionHistoryLimit = 10;
    if (spec.progressDeadlineSeconds === undefined || spec.progressDeadlineSeconds === null)
      spec.progressDeadlineSeconds = 600;
    if (!isRecord(spec.template)) spec.template = {};
    defaultPodTemplate(spec.template);
  },

  prepareForCreate(obj) {
    obj.status = {};
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateDeploymentSpec(obj.spec));
    out.push(...validateSelectorImmutable(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col('Ready', 'string', 'Number of the pod with ready state'),
    col(
      'Up-to-date',
      'string',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    col(
      'Available',
      'string',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    selectorColumn(),
  ],

  row(obj, now) {
    const st = obj.status ?? {};
    const [names, images] = containerCells(obj.spec?.template?.spec);
    return [
      obj.metadata?.name ?? '',
      `${st.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`,
      st.updatedReplicas ?? 0,
      st.availableReplicas ?? 0,
      ageOf(obj, now),
      names,
      images,
      selectorString(obj.spec?.selector),
    ];
  },
};
