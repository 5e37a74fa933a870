// apps/v1 StatefulSet: SetDefaults_StatefulSet (OrderedReady, RollingUpdate partition 0,
// PVC retention Retain/Retain), ValidateStatefulSetSpec/Update and the READY row.
import type { KubeObject, ObjectMeta, StatusCause } from '../../proto/meta.js';
import type { PersistentVolumeClaim, StatefulSetSpec } from '../../proto/api/types.gen.js';
import { canonicalJson, clone } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, containerCells, containersColumn, imagesColumn, nameColumn } from './columns.js';
import { isRecord, nameIsDNSSubdomain, validateNonnegative, validateObjectMeta } from './meta-validation.js';
import { defaultClaim, validateClaimSpec } from './persistent-volume-claim.js';
import { defaultPodTemplate } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { validateAlwaysRunningTemplate, validateSelector, zeroStatus } from './workload.js';

/** a StatefulSet spec as the schema decoder leaves it: an object, its fields of their JSON types (required ones may be missing) */
const isStatefulSetSpec = (v: unknown): v is Partial<StatefulSetSpec> => isRecord(v);
/** a spec.volumeClaimTemplates entry as decoded: an object whose fields may be missing, or null */
type ClaimTemplateEntry = Partial<PersistentVolumeClaim> | null | undefined;

function validateStatefulSetSpec(spec: unknown): StatusCause[] {
  if (!isStatefulSetSpec(spec)) return [field.required('spec')];
  const out: StatusCause[] = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) out.push(field.required('spec.podManagementPolicy'));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel')
    out.push(field.invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = spec.updateStrategy;
  if (!us?.type) out.push(field.required('spec.updateStrategy'));
  else if (us.type === 'OnDelete') {
    if (us.rollingUpdate)
      out.push(
        field.invalid(
          'spec.updateStrategy.rollingUpdate',
          us.rollingUpdate,
          "only allowed for updateStrategy 'RollingUpdate'",
        ),
      );
  } else if (us.type === 'RollingUpdate') {
    out.push(...validateNonnegative(us.rollingUpdate?.partition, 'spec.updateStrategy.rollingUpdate.partition'));
  } else {
    out.push(field.invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  for (const k of ['whenDeleted', 'whenScaled'] as const) {
    const v = retention?.[k];
    if (v && v !== 'Retain' && v !== 'Delete')
      out.push(field.notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, v, ['Retain', 'Delete']));
  }
  out.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  out.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  const [selErrs, usable] = validateSelector(spec, 'spec', 'statefulset');
  out.push(...selErrs);
  out.push(
    ...validateAlwaysRunningTemplate(spec, 'spec', 'StatefulSet', usable ? spec.selector : undefined).filter(
      (c) => !isClaimMountNotFound(c, spec),
    ),
  );
  (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []).forEach(
    (t: ClaimTemplateEntry, i: number) => {
      out.push(...validateClaimSpec(t?.spec, `spec.volumeClaimTemplates[${i}].spec`));
    },
  );
  return out;
}

/** Volume mounts may name a volumeClaimTemplate instead of a pod volume. */
function isClaimMountNotFound(c: StatusCause, spec: Partial<StatefulSetSpec>): boolean {
  if (c.reason !== 'FieldValueNotFound' || !/\.volumeMounts\[\d+\]\.name$/.test(c.field ?? '')) return false;
  const names = (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []).map(
    (t: ClaimTemplateEntry) => t?.metadata?.name,
  );
  return names.some((n) => c.message === `Not found: ${JSON.stringify(n)}`);
}

const UPDATABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function validateStatefulSetUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const n = clone(obj.spec ?? {});
  const o = clone(old.spec ?? {});
  for (const k of UPDATABLE) {
    delete n[k];
    delete o[k];
  }
  if (canonicalJson(n) === canonicalJson(o)) return [];
  return [
    field.forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export const statefulSet: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  resource: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status', 'scale'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'StatefulSet',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    const spec = obj.spec;
    if (!spec.podManagementPolicy) spec.podManagementPolicy = 'OrderedReady';
    if (!isRecord(spec.updateStrategy)) spec.updateStrategy = {};
    if (!spec.updateStrategy.type) {
      spec.updateStrategy.type = 'RollingUpdate';
      if (!isRecord(spec.updateStrategy.rollingUpdate)) spec.updateStrategy.rollingUpdate = {};
    }
    const ru = spec.updateStrategy.rollingUpdate;
    if (
      spec.updateStrategy.type === 'RollingUpdate' &&
      isRecord(ru) &&
      (ru.partition === undefined || ru.partition === null)
    )
      ru.partition = 0;
    if (!isRecord(spec.persistentVolumeClaimRetentionPolicy)) spec.persistentVolumeClaimRetentionPolicy = {};
    const ret = spec.persistentVolumeClaimRetentionPolicy;
    if (!ret.whenDeleted) ret.whenDeleted = 'Retain';
    if (!ret.whenScaled) ret.whenScaled = 'Retain';
    if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
    if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit === null) spec.revisionHistoryLimit = 10;
    if (!isRecord(spec.template)) spec.template = {};
    defaultPodTemplate(spec.template);
    for (const t of Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []) {
      if (!isRecord(t)) continue;
      const meta: ObjectMeta = isRecord(t.metadata) ? t.metadata : {};
      t.metadata = meta;
      if (meta.creationTimestamp === undefined) meta.creationTimestamp = null;
      defaultClaim(t as KubeObject);
    }
  },

  prepareForCreate(obj) {
    zeroStatus(obj, ['replicas', 'availableReplicas']);
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateStatefulSetSpec(obj.spec));
    if (old) out.push(...validateStatefulSetUpdate(obj, old));
    return out;
  },

  columns: [
    nameColumn(),
    col('Ready', 'string', 'Number of the pod with ready state'),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
  ],

  row(obj, now) {
    const [names, images] = containerCells(obj.spec?.template?.spec);
    return [
      obj.metadata?.name ?? '',
      `${obj.status?.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`,
      ageOf(obj, now),
      names,
      images,
    ];
  },
};
