// Validation shared by the apps/v1 workloads (pkg/apis/apps/validation): selector
// required, non-empty and matching the template labels, template restartPolicy Always,
// selector immutable on update, int-or-percent rollout parameters.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { DeploymentSpec } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { goLabelSelector, goStringMap } from './go-format.js';
import { isEmptySelector, selectorMatches, validateLabelSelector, type LabelSelector } from './label-selector.js';
import {
  type Decoded,
  immutable,
  invalidRendered,
  isJsonObject,
  isRecord,
  regexError,
  validateNonnegative,
} from './meta-validation.js';
import { validatePodTemplateSpec } from './pod-template.js';
import { canonicalJson } from '../../proto/canonical.js';

/** `<path>.metadata.labels: Invalid value: map[string]string{...}: `selector` does not match template `labels``. */
export function selectorMismatch(path: string, labels: Record<string, string> | undefined): StatusCause {
  return invalidRendered(`${path}.metadata.labels`, goStringMap(labels), '`selector` does not match template `labels`');
}

/** what these checks read of a Deployment, ReplicaSet, StatefulSet or DaemonSet spec as decoded (either may be missing or null) */
type WorkloadSpec = Decoded<Pick<DeploymentSpec, 'selector' | 'template'>>;

/**
 * Selector checks as ValidateDeploymentSpec/ReplicaSetSpec/StatefulSetSpec do them.
 * Returns [causes, selectorUsable]: a missing selector is Required.
 */
export function validateSelector(
  spec: WorkloadSpec | undefined,
  path: string,
  kindWord: string,
): [StatusCause[], boolean] {
  const sel = spec?.selector;
  if (sel === undefined || sel === null) return [[field.required(`${path}.selector`)], false];
  const out = validateLabelSelector(sel, `${path}.selector`);
  if (isEmptySelector(sel))
    out.push(invalidRendered(`${path}.selector`, goLabelSelector(sel), `empty selector is invalid for ${kindWord}`));
  return [out, isRecord(sel)];
}

/**
 * ValidatePodTemplateSpecForReplicaSet (also used, with its own wording, by DaemonSets and
 * StatefulSets): labels must match a non-empty selector, restartPolicy must be Always,
 * activeDeadlineSeconds is not supported.
 */
export function validateAlwaysRunningTemplate(
  spec: WorkloadSpec | undefined,
  path: string,
  kindName: string,
  selector: LabelSelector | null | undefined,
): StatusCause[] {
  const tplPath = `${path}.template`;
  const tpl = spec?.template;
  if (!isJsonObject(tpl)) return [field.required(tplPath)];
  const out: StatusCause[] = [];
  const labels = tpl.metadata?.labels;
  if (selector && !isEmptySelector(selector) && !selectorMatches(selector, labels))
    out.push(selectorMismatch(tplPath, labels));
  out.push(...validatePodTemplateSpec(tpl, tplPath));
  const rp = tpl.spec?.restartPolicy;
  if (rp !== 'Always') out.push(field.notSupported(`${tplPath}.spec.restartPolicy`, rp ?? '', ['Always']));
  const ads = tpl.spec?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    out.push(
      field.invalid(
        `${tplPath}.spec.activeDeadlineSeconds`,
        ads,
        `activeDeadlineSeconds in ${kindName} is not Supported`,
      ),
    );
  }
  return out;
}

/** apps/v1 makes spec.selector immutable. */
export function validateSelectorImmutable(obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
  if (!old) return [];
  if (canonicalJson(obj.spec?.selector ?? null) === canonicalJson(old.spec?.selector ?? null)) return [];
  return [immutable('spec.selector', goLabelSelector(obj.spec?.selector))];
}

const PERCENT_RE = /^[0-9]+%$/;

/** ValidatePositiveIntOrPercent. */
export function validateIntOrPercent(v: unknown, path: string): StatusCause[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') {
    return PERCENT_RE.test(v)
      ? []
      : [
          invalidRendered(
            path,
            v,
            regexError(
              "a valid percent string must be a numeric string followed by an ending '%'",
              '[0-9]+%',
              '1%',
              '93%',
            ),
          ),
        ];
  }
  if (typeof v === 'number') return validateNonnegative(v, path);
  return [invalidRendered(path, JSON.stringify(v), "must be an integer or percentage (e.g '5%')")];
}

export function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && PERCENT_RE.test(v)) return Number(v.slice(0, -1));
  return -1;
}

/** IsNotMoreThan100Percent. */
export function notMoreThan100Percent(v: unknown, path: string): StatusCause[] {
  return typeof v === 'string' && PERCENT_RE.test(v) && Number(v.slice(0, -1)) > 100
    ? [invalidRendered(path, v, 'must not be greater than 100%')]
    : [];
}

/** Status counters that are non-omitempty int32s in k8s.io/api, so a fresh object shows them as 0. */
export function zeroStatus(obj: KubeObject, fields: string[]): void {
  const status: Record<string, unknown> = {};
  for (const f of fields) status[f] = 0;
  obj.status = status;
}
