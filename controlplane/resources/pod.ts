// core/v1 Pod: defaulting (PodSpec + pod-only defaults and admission), create-time
// status (Pending + QoS class), validation incl. the immutable-spec rule on update,
// the printers' table and the field selectors kubectl/kubelet use.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { Container, PodSpec, Toleration } from '../../proto/api/types.gen.js';
import { canonicalJson, clone } from '../../proto/canonical.js';
import { field } from '../api/errors.js';
import {
  inclusiveRangeError,
  isDecoded,
  isJsonObject,
  isRecord,
  nameIsDNSSubdomain,
  validateObjectMeta,
  type Decoded,
} from './meta-validation.js';
import {
  addDefaultTolerations,
  defaultPodOnly,
  defaultPodSpec,
  validatePodSpec,
  validateTolerations,
} from './pod-template.js';
import { podColumns, podRow } from './pod-table.js';
import { computePodQOS } from './qos.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { admitPodServiceAccount } from '../serviceaccount/admission.js';
import { admitPodPriority, rememberRequestedPriority } from '../admission/priority.js';

const UPDATABLE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function validateContainerUpdates(next: unknown, prev: unknown, path: string): [StatusCause[], boolean] {
  const n: (Decoded<Container> | null | undefined)[] = Array.isArray(next) ? next : [];
  const p: unknown[] = Array.isArray(prev) ? prev : [];
  if (n.length !== p.length) return [[field.forbidden(path, 'pod updates may not add or remove containers')], true];
  const out: StatusCause[] = [];
  n.forEach((c, i) => {
    const image = typeof c?.image === 'string' ? c.image : '';
    if (!image) out.push(field.required(`${path}[${i}].image`));
    if (image.trim() !== image)
      out.push(field.invalid(`${path}[${i}].image`, image, 'must not have leading or trailing whitespace'));
  });
  return [out, false];
}

function validateOnlyAddedTolerations(next: unknown, prev: unknown, path: string): StatusCause[] {
  const n: (Decoded<Toleration> | null | undefined)[] = Array.isArray(next) ? next : [];
  const p: (Decoded<Toleration> | null | undefined)[] = Array.isArray(prev) ? prev : [];
  for (const old of p) {
    // tolerationSeconds of an existing toleration may change; nothing else may.
    const found = n.some(
      (t) => canonicalJson({ ...old, tolerationSeconds: t?.tolerationSeconds }) === canonicalJson(t),
    );
    if (!found) return [field.forbidden(path, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(n, path);
}

/** Lines naming what changed, standing in for the cmp.Diff kube-apiserver appends. */
function specDiff(prev: Record<string, unknown>, next: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(prev), ...Object.keys(next)])].sort();
  const lines: string[] = [];
  for (const k of keys) {
    if (canonicalJson(prev[k] ?? null) === canonicalJson(next[k] ?? null)) continue;
    if (k in prev) lines.push(`- \t${k}: ${canonicalJson(prev[k])},`);
    if (k in next) lines.push(`+ \t${k}: ${canonicalJson(next[k])},`);
  }
  return `  core.PodSpec{\n${lines.join('\n')}\n  }\n`;
}

export function validatePodUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const spec: Decoded<PodSpec> = isDecoded<PodSpec>(obj.spec) ? obj.spec : {};
  const prev: Decoded<PodSpec> = isDecoded<PodSpec>(old.spec) ? old.spec : {};
  const out: StatusCause[] = [];
  for (const [key, path] of [
    ['containers', 'spec.containers'],
    ['initContainers', 'spec.initContainers'],
  ] as const) {
    const [errs, stop] = validateContainerUpdates(spec[key], prev[key], path);
    out.push(...errs);
    if (stop) return out;
  }
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    if (!(Number.isInteger(ads) && ads >= 0 && ads <= 2147483647)) {
      return [...out, field.invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, 2147483647))];
    }
    if (typeof prev.activeDeadlineSeconds === 'number' && prev.activeDeadlineSeconds < ads) {
      return [...out, field.invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value')];
    }
  } else if (prev.activeDeadlineSeconds !== undefined && prev.activeDeadlineSeconds !== null) {
    out.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: "null": must not update from a positive integer to nil value',
      field: 'spec.activeDeadlineSeconds',
    });
  }
  out.push(...validateOnlyAddedTolerations(spec.tolerations, prev.tolerations, 'spec.tolerations'));

  // Munge the updatable fields back to their old values, then nothing else may differ.
  const munged = clone(spec);
  for (const key of ['containers', 'initContainers'] as const) {
    const list = munged[key];
    const before = prev[key];
    if (Array.isArray(list) && Array.isArray(before)) {
      list.forEach((c, i) => {
        if (isJsonObject(c)) c.image = before[i]?.image;
      });
    }
  }
  if (prev.activeDeadlineSeconds === undefined) delete munged.activeDeadlineSeconds;
  else munged.activeDeadlineSeconds = prev.activeDeadlineSeconds;
  if (prev.tolerations === undefined) delete munged.tolerations;
  else munged.tolerations = prev.tolerations;
  const oldGrace = prev.terminationGracePeriodSeconds;
  if (typeof oldGrace === 'number' && oldGrace < 0 && munged.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = oldGrace;
  if (canonicalJson(munged) !== canonicalJson(prev))
    out.push(field.forbidden('spec', `${UPDATABLE}\n${specDiff(prev, munged)}`));
  return out;
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export const pod: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  resource: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: ['status', 'binding', 'log', 'exec', 'attach', 'eviction', 'portforward', 'ephemeralcontainers'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'Pod',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    defaultPodSpec(obj.spec);
    defaultPodOnly(obj.spec);
  },

  prepareForCreate(obj) {
    rememberRequestedPriority(obj); // the Priority plugin judges what the client sent
    // Defaults first (idempotent): the QoS class depends on requests defaulted from limits.
    pod.defaults!(obj);
    addDefaultTolerations(obj.spec);
    obj.status = { phase: 'Pending', qosClass: computePodQOS(obj.spec) };
  },

  // DefaultTolerationSeconds admits updates too: `kubectl replace` of the manifest a Pod was
  // created from keeps the tolerations the server added
  prepareForUpdate(obj) {
    addDefaultTolerations(obj.spec);
  },

  // ServiceAccount admission (installed by skiff-server): controlplane/serviceaccount/admission.ts
  // (LimitRanger's defaults are applied on the write path: controlplane/quota/admission.ts)
  // then Priority (controlplane/admission/priority.ts), in kube-apiserver's plugin order
  admit: async (obj, ctx) => {
    await admitPodServiceAccount(obj, ctx);
    await admitPodPriority(obj, ctx);
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validatePodSpec(obj.spec, 'spec'));
    if (old) out.push(...validatePodUpdate(obj, old));
    return out;
  },

  columns: podColumns,
  row: podRow,

  fields: {
    'spec.nodeName': (o) => str(o.spec?.nodeName),
    'spec.restartPolicy': (o) => str(o.spec?.restartPolicy),
    'spec.schedulerName': (o) => str(o.spec?.schedulerName),
    'spec.serviceAccountName': (o) => str(o.spec?.serviceAccountName),
    'spec.hostNetwork': (o) => String(o.spec?.hostNetwork === true),
    'status.phase': (o) => str(o.status?.phase),
    'status.podIP': (o) => str(o.status?.podIPs?.[0]?.ip ?? o.status?.podIP),
    'status.nominatedNodeName': (o) => str(o.status?.nominatedNodeName),
  },
};
