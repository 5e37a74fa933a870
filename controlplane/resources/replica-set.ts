// apps/v1 ReplicaSet: replicas 1 by default, ValidateReplicaSetSpec, immutable selector,
// `status.replicas` field selector and the DESIRED/CURRENT/READY row.
import type { ReplicaSetSpec } from '../../proto/api/types.gen.js';
import type { KubeObject } from '../../proto/meta.js';
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
import { formatLabelSelector } from './label-selector.js';
import { isDecoded, isRecord, nameIsDNSSubdomain, validateNonnegative, validateObjectMeta } from './meta-validation.js';
import { defaultPodTemplate } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { validateAlwaysRunningTemplate, validateSelector, validateSelectorImmutable, zeroStatus } from './workload.js';

/** NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR (printReplicaSet, printReplicationController) */
export function replicasRow(obj: KubeObject, now: number, selector: string): unknown[] {
  const [names, images] = containerCells(obj.spec?.template?.spec);
  return [
    obj.metadata?.name ?? '',
    obj.spec?.replicas ?? 0,
    obj.status?.replicas ?? 0,
    obj.status?.readyReplicas ?? 0,
    ageOf(obj, now),
    names,
    images,
    selector,
  ];
}

export const replicaSet: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  resource: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status', 'scale'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'ReplicaSet',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    if (obj.spec.replicas === undefined || obj.spec.replicas === null) obj.spec.replicas = 1;
    if (!isRecord(obj.spec.template)) obj.spec.template = {};
    defaultPodTemplate(obj.spec.template);
  },

  prepareForCreate(obj) {
    zeroStatus(obj, ['replicas']);
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    const spec = obj.spec;
    if (!isDecoded<ReplicaSetSpec>(spec)) return [...out, field.required('spec')];
    out.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
    out.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
    const [selErrs, usable] = validateSelector(spec, 'spec', 'deployment');
    out.push(...selErrs);
    if (usable) out.push(...validateAlwaysRunningTemplate(spec, 'spec', 'ReplicaSet', spec.selector));
    out.push(...validateSelectorImmutable(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col('Desired', 'integer', 'Replicas is the number of desired pods.'),
    col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
    col('Ready', 'integer', 'The number of ready replicas for this replica set.'),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    selectorColumn('Selector is a label query over pods that should match the replica count.'),
  ],

  row: (obj, now) => replicasRow(obj, now, formatLabelSelector(obj.spec?.selector)),

  fields: {
    'status.replicas': (o) => String(o.status?.replicas ?? 0),
  },
};
