// Shared PodSpec / PodTemplateSpec defaulting and validation used by pods and every
// workload kind (deployments, replicasets, daemonsets, statefulsets, jobs, cronjobs).
import type { StatusCause } from '../../proto/meta.js';
import type { ObjectMeta, PodSpec } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { isDecoded, isJsonObject, validateAnnotations, validateLabels, type Decoded } from './meta-validation.js';
import { defaultPodSpec } from './pod-defaults.js';
import { validatePodSpec } from './pod-spec-validation.js';

export {
  addDefaultTolerations,
  defaultContainer,
  defaultPodOnly,
  defaultPodSpec,
  defaultVolume,
  imageTag,
} from './pod-defaults.js';
export {
  validatePodSpec,
  validateResources,
  validateTolerations,
  validateTaintEffect,
  validatePortNumOrName,
} from './pod-spec-validation.js';

/** a PodTemplateSpec as decoded: its metadata and spec decoded objects too (defaulting fills them) */
interface DecodedTemplate {
  metadata?: Decoded<ObjectMeta> | null;
  spec?: Decoded<PodSpec> | null;
}

/**
 * Default a pod template in place. Its metadata always serialises with
 * `creationTimestamp: null` (a non-pointer metav1.Time), as kube-apiserver returns it.
 */
export function defaultPodTemplate(tpl: unknown): void {
  if (!isDecoded<DecodedTemplate>(tpl)) return;
  if (!isJsonObject(tpl.metadata)) tpl.metadata = {};
  if (tpl.metadata.creationTimestamp === undefined) tpl.metadata.creationTimestamp = null;
  if (!isJsonObject(tpl.spec)) tpl.spec = {};
  defaultPodSpec(tpl.spec);
}

/** ValidatePodTemplateSpec: note labels/annotations sit at `<path>.labels`, not `<path>.metadata.labels`. */
export function validatePodTemplateSpec(tpl: unknown, path: string): StatusCause[] {
  if (!isDecoded<DecodedTemplate>(tpl)) return [field.required(path)];
  const meta: Decoded<ObjectMeta> = isJsonObject(tpl.metadata) ? tpl.metadata : {};
  const out: StatusCause[] = [];
  out.push(...validateLabels(meta.labels, `${path}.labels`));
  out.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  out.push(...validatePodSpec(tpl.spec, `${path}.spec`));
  if (Array.isArray(tpl.spec?.ephemeralContainers) && tpl.spec.ephemeralContainers.length > 0) {
    out.push(field.forbidden(`${path}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template'));
  }
  return out;
}
