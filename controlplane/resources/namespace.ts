// core/v1 Namespace: the kubernetes.io/metadata.name label, phase Active and the
// "kubernetes" finalizer the namespace controller removes after emptying it.
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { isRecord, isQualifiedName, nameIsDNSLabel, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const STANDARD_FINALIZERS = ['kubernetes', 'orphan', 'foregroundDeletion'];

export const namespace: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  resource: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status', 'finalize'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'Namespace',

  defaults(obj) {
    // SetDefaults_Namespace: only when the name is known (not for generateName).
    const name = obj.metadata?.name;
    if (name) obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
    if (!isRecord(obj.status)) obj.status = {};
    if (!obj.status.phase) obj.status.phase = 'Active';
  },

  prepareForCreate(obj) {
    obj.status = { phase: 'Active' };
    if (!isRecord(obj.spec)) obj.spec = {};
    const finalizers: string[] = Array.isArray(obj.spec.finalizers) ? obj.spec.finalizers : [];
    if (!finalizers.includes('kubernetes')) obj.spec.finalizers = [...finalizers, 'kubernetes'];
    namespace.defaults!(obj);
  },

  validate(obj) {
    const out = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSLabel });
    const finalizers = obj.spec?.finalizers;
    if (Array.isArray(finalizers)) {
      finalizers.forEach((f: unknown, i: number) => {
        const p = `spec.finalizers[${i}]`;
        const s = String(f);
        for (const m of isQualifiedName(s)) out.push(field.invalid(p, s, m));
        if (!s.includes('/') && !STANDARD_FINALIZERS.includes(s))
          out.push(field.invalid(p, s, 'name is neither a standard finalizer name nor is it fully qualified'));
      });
    }
    return out;
  },

  columns: [nameColumn(), col('Status', 'string', 'The status of the namespace'), ageColumn()],
  row: (obj, now) => [obj.metadata?.name ?? '', obj.status?.phase ?? '', ageOf(obj, now)],

  fields: {
    'status.phase': (o) => String(o.status?.phase ?? ''),
  },
};
