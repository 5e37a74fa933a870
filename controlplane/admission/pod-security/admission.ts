// Pod Security admission's decisions (k8s.io/pod-security-admission admission/admission.go,
// v1.32, and the in-tree plugin's wrapper): for a Namespace, its labels must be valid and a
// stricter enforce level warns about the existing pods it would refuse; for a Pod, enforce
// refuses, audit annotates, warn warns; for a workload with a pod template, audit and warn
// only. Pure over a request and two readers; the hook (hook.ts) acts on the answer.
import type { KubeObject, StatusCause } from '../../../proto/meta.js';
import { type ApiError, forbidden, internal, invalid } from '../../api/errors.js';
import { aggregate, evaluatePod, forbiddenDetail, forbiddenReason } from './evaluator.js';
import { rec, type PodMeta, type Rec } from './pod-view.js';
import {
  LABELS,
  compareLevels,
  fullyPrivileged,
  levelVersionString,
  policyEquivalent,
  policyToEvaluate,
  sameLevelVersion,
  sameVersion,
  type LevelVersion,
  type Policy,
} from './policy.js';

export interface PodSecurityConfig {
  defaults: Policy;
  exemptNamespaces: string[];
}

export interface PodSecurityRequest {
  operation: 'CREATE' | 'UPDATE';
  group: string;
  resource: string;
  kind: string;
  subresource: string;
  /** the request's namespace (for a Namespace: its name on update, '' on create, as kube-apiserver) */
  namespace: string;
  name: string;
  object: KubeObject;
  oldObject?: KubeObject;
}

export interface PodSecurityReaders {
  namespace(name: string): Promise<KubeObject | undefined>;
  pods(namespace: string): Promise<KubeObject[]>;
}

export interface PodSecurityResponse {
  allowed: boolean;
  error?: ApiError;
  warnings: string[];
  /** keys without the pod-security.kubernetes.io/ prefix */
  auditAnnotations: Record<string, string>;
}

const allow = (auditAnnotations: Record<string, string> = {}): PodSecurityResponse => ({
  allowed: true,
  warnings: [],
  auditAnnotations,
});

/** resources whose objects embed a pod template (DefaultPodSpecExtractor) */
const POD_SPEC_RESOURCES = new Set([
  '/replicationcontrollers',
  '/podtemplates',
  'apps/replicasets',
  'apps/deployments',
  'apps/statefulsets',
  'apps/daemonsets',
  'batch/jobs',
  'batch/cronjobs',
]);
const IGNORED_POD_SUBRESOURCES = new Set([
  'exec',
  'attach',
  'binding',
  'eviction',
  'log',
  'portforward',
  'proxy',
  'status',
]);
const MAX_PODS_TO_CHECK = 3000;
const POD_CHECK_TIMEOUT_MS = 1000;

/** does Pod Security admission look at this resource at all? */
export function applies(group: string, resource: string): boolean {
  return (
    (group === '' && (resource === 'pods' || resource === 'namespaces')) ||
    POD_SPEC_RESOURCES.has(`${group}/${resource}`)
  );
}

export async function validate(
  cfg: PodSecurityConfig,
  req: PodSecurityRequest,
  readers: PodSecurityReaders,
): Promise<PodSecurityResponse> {
  if (req.group === '' && req.resource === 'namespaces') return validateNamespace(cfg, req, readers);
  if (req.group === '' && req.resource === 'pods') return validatePod(cfg, req, readers);
  if (POD_SPEC_RESOURCES.has(`${req.group}/${req.resource}`)) return validatePodController(cfg, req, readers);
  return allow();
}

function labelsOf(o: KubeObject | undefined): Record<string, string> | undefined {
  return o?.metadata?.labels;
}

function sameCauses(a: StatusCause[], b: StatusCause[]): boolean {
  return a.length === b.length && a.every((c, i) => c.field === b[i]!.field && c.message === b[i]!.message);
}

async function validateNamespace(
  cfg: PodSecurityConfig,
  req: PodSecurityRequest,
  readers: PodSecurityReaders,
): Promise<PodSecurityResponse> {
  if (req.subresource !== '') return allow();
  const labels = labelsOf(req.object);
  const { policy: next, errors } = policyToEvaluate(labels, cfg.defaults);
  const exempt = (ns: string) => ns !== '' && cfg.exemptNamespaces.includes(ns);
  const exemptWarning = (): PodSecurityResponse => {
    const w = exemptNamespaceWarning(cfg, req.object.metadata.name ?? '', next, labels ?? {});
    return w ? { ...allow(), warnings: [w] } : allow();
  };
  if (req.operation === 'CREATE') {
    if (errors.length) return refuse(invalid('Namespace', req.name, errors));
    return exempt(req.namespace) ? exemptWarning() : allow();
  }
  const { policy: prev, errors: oldErrors } = policyToEvaluate(labelsOf(req.oldObject), cfg.defaults);
  if (errors.length && (oldErrors.length === 0 || !sameCauses(errors, oldErrors)))
    return refuse(invalid('Namespace', req.name, errors));
  if (sameLevelVersion(next.enforce, prev.enforce)) return allow();
  if (next.enforce.level === 'privileged') return allow();
  if (
    sameVersion(next.enforce.version, prev.enforce.version) &&
    compareLevels(next.enforce.level, prev.enforce.level) < 1
  )
    return allow();
  if (exempt(req.namespace)) return exemptWarning();
  return { ...allow(), warnings: await evaluatePodsInNamespace(req.object.metadata.name ?? '', next.enforce, readers) };
}

function refuse(error: ApiError, auditAnnotations: Record<string, string> = {}): PodSecurityResponse {
  return { allowed: false, error, warnings: [], auditAnnotations };
}

function containersImages(spec: Rec, key: string): unknown[] {
  const list = spec[key];
  return Array.isArray(list) ? list.map((c) => rec(c)?.image) : [];
}

/** isSignificantPodUpdate: only images and the number of containers matter on update */
export function isSignificantPodUpdate(pod: KubeObject, old: KubeObject): boolean {
  const spec = rec(pod.spec) ?? {};
  const oldSpec = rec(old.spec) ?? {};
  for (const key of ['containers', 'initContainers']) {
    const a = containersImages(spec, key);
    const b = containersImages(oldSpec, key);
    if (a.length !== b.length) return true;
    if (a.some((img, i) => img !== b[i])) return true;
  }
  const oldEphemeral = Array.isArray(oldSpec.ephemeralContainers) ? oldSpec.ephemeralContainers.map(rec) : [];
  for (const c of Array.isArray(spec.ephemeralContainers) ? spec.ephemeralContainers.map(rec) : []) {
    const o = oldEphemeral.find((x) => x?.name === c?.name);
    if (!o) return true;
    if (c?.image !== o.image) return true;
  }
  return false;
}

async function validatePod(
  cfg: PodSecurityConfig,
  req: PodSecurityRequest,
  readers: PodSecurityReaders,
): Promise<PodSecurityResponse> {
  if (IGNORED_POD_SUBRESOURCES.has(req.subresource)) return allow();
  if (req.namespace && cfg.exemptNamespaces.includes(req.namespace)) return allow({ exempt: 'namespace' });
  const insignificant =
    req.operation === 'UPDATE' && !!req.oldObject && !isSignificantPodUpdate(req.object, req.oldObject);
  const ns = await readers.namespace(req.namespace);
  if (!ns) {
    // skiff departs here: an update that changes nothing checked (a finalizer removed) passes
    // even when the namespace is gone, so a pod can always finish being deleted
    if (insignificant) return allow();
    return refuse(internal(`failed to lookup namespace ${JSON.stringify(req.namespace)}`), {
      error: `Internal error occurred: failed to lookup namespace ${JSON.stringify(req.namespace)}`,
    });
  }
  const { policy, errors } = policyToEvaluate(labelsOf(ns), cfg.defaults);
  if (errors.length === 0 && fullyPrivileged(policy)) return allow({ 'enforce-policy': 'privileged:latest' });
  if (insignificant) return allow();
  return evaluate(policy, errors, req.object.metadata, rec(req.object.spec) ?? {}, req, true);
}

/** the template's metadata and spec (ExtractPodSpec) */
export function podTemplateOf(resource: string, obj: KubeObject): { meta: PodMeta; spec: Rec } | undefined {
  const spec = rec(obj.spec);
  const template =
    resource === 'podtemplates'
      ? rec(obj.template)
      : resource === 'cronjobs'
        ? rec(rec(rec(spec?.jobTemplate)?.spec)?.template)
        : rec(spec?.template);
  if (!template) return undefined;
  return { meta: rec(template.metadata) ?? {}, spec: rec(template.spec) ?? {} };
}

async function validatePodController(
  cfg: PodSecurityConfig,
  req: PodSecurityRequest,
  readers: PodSecurityReaders,
): Promise<PodSecurityResponse> {
  if (req.subresource !== '') return allow();
  if (req.namespace && cfg.exemptNamespaces.includes(req.namespace)) return allow({ exempt: 'namespace' });
  const ns = await readers.namespace(req.namespace);
  if (!ns)
    return allow({
      error: `failed to lookup namespace ${JSON.stringify(req.namespace)}: namespaces ${JSON.stringify(req.namespace)} not found`,
    });
  const { policy, errors } = policyToEvaluate(labelsOf(ns), cfg.defaults);
  if (errors.length === 0 && policy.warn.level === 'privileged' && policy.audit.level === 'privileged') return allow();
  const template = podTemplateOf(req.resource, req.object);
  if (!template) return allow();
  return evaluate(policy, errors, template.meta, template.spec, req, false);
}

function policyErrorText(errors: StatusCause[]): string {
  const parts = errors.map((c) => `${c.field}: ${c.message}`);
  return parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
}

/** EvaluatePod: enforce (pods only), audit, warn; one evaluation per distinct level:version */
function evaluate(
  policy: Policy,
  errors: StatusCause[],
  meta: PodMeta,
  spec: Rec,
  req: PodSecurityRequest,
  enforce: boolean,
): PodSecurityResponse {
  const auditAnnotations: Record<string, string> = {};
  if (errors.length) auditAnnotations.error = `Failed to parse policy: ${policyErrorText(errors)}`;
  const cache = new Map<string, ReturnType<typeof aggregate>>();
  const run = (lv: LevelVersion) => {
    const key = levelVersionString(lv);
    let result = cache.get(key);
    if (!result) cache.set(key, (result = aggregate(evaluatePod(lv, meta, spec))));
    return result;
  };
  let error: ApiError | undefined;
  if (enforce) {
    auditAnnotations['enforce-policy'] = levelVersionString(policy.enforce);
    const result = run(policy.enforce);
    if (!result.allowed) {
      error = forbidden(
        `${req.resource}${req.group ? `.${req.group}` : ''} ${JSON.stringify(req.name)} is forbidden: violates PodSecurity ${JSON.stringify(levelVersionString(policy.enforce))}: ${forbiddenDetail(result)}`,
        req.resource,
        req.name,
      );
    }
  }
  const audit = run(policy.audit);
  if (!audit.allowed)
    auditAnnotations['audit-violations'] =
      `would violate PodSecurity ${JSON.stringify(levelVersionString(policy.audit))}: ${forbiddenDetail(audit)}`;
  const warnings: string[] = [];
  if (!error) {
    const warn = run(policy.warn);
    if (!warn.allowed)
      warnings.push(
        `would violate PodSecurity ${JSON.stringify(levelVersionString(policy.warn))}: ${forbiddenDetail(warn)}`,
      );
  }
  return { allowed: !error, error, warnings, auditAnnotations };
}

/** EvaluatePodsInNamespace: one warning per distinct violation, naming the first pod (and how many others) */
export async function evaluatePodsInNamespace(
  namespace: string,
  enforce: LevelVersion,
  readers: PodSecurityReaders,
  now: () => number = Date.now,
): Promise<string[]> {
  const deadline = now() + POD_CHECK_TIMEOUT_MS;
  let pods: KubeObject[];
  try {
    pods = await readers.pods(namespace);
  } catch {
    return ['failed to list pods while checking new PodSecurity enforce level'];
  }
  const prioritized = prioritizePods(pods);
  const total = prioritized.length;
  const toCheck = prioritized.slice(0, MAX_PODS_TO_CHECK);
  let checked = toCheck.length;
  const order: string[] = [];
  const counts = new Map<string, { podName: string; count: number }>();
  for (let i = 0; i < toCheck.length; i++) {
    const pod = toCheck[i]!;
    const r = aggregate(evaluatePod(enforce, pod.metadata, rec(pod.spec) ?? {}));
    if (!r.allowed) {
      const w = forbiddenReason(r);
      const podName = pod.metadata.name ?? '';
      const c = counts.get(w);
      if (!c) {
        counts.set(w, { podName, count: 1 });
        order.push(w);
      } else {
        c.count++;
        if (podName < c.podName) c.podName = podName;
      }
    }
    if (now() > deadline) {
      checked = i + 1;
      break;
    }
  }
  const warnings: string[] = [];
  if (checked < total)
    warnings.push(`new PodSecurity enforce level only checked against the first ${checked} of ${total} existing pods`);
  if (order.length)
    warnings.push(
      `existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity enforce level ${JSON.stringify(levelVersionString(enforce))}`,
    );
  const decorated = order
    .map((w) => {
      const c = counts.get(w)!;
      if (c.count === 1) return `${c.podName}: ${w}`;
      if (c.count === 2) return `${c.podName} (and 1 other pod): ${w}`;
      return `${c.podName} (and ${c.count - 1} other pods): ${w}`;
    })
    .sort();
  return [...warnings, ...decorated];
}

/** one pod per controller first, the other replicas after */
function prioritizePods(pods: KubeObject[]): KubeObject[] {
  const first: KubeObject[] = [];
  const rest: KubeObject[] = [];
  const seen = new Set<string>();
  for (const p of pods) {
    const ref = (p.metadata.ownerReferences ?? []).find((o) => o.controller === true);
    if (!ref) {
      first.push(p);
      continue;
    }
    if (seen.has(ref.uid)) {
      rest.push(p);
      continue;
    }
    seen.add(ref.uid);
    first.push(p);
  }
  return [...first, ...rest];
}

/** exemptNamespaceWarning: an exempt namespace labelled with a policy that will be ignored */
export function exemptNamespaceWarning(
  cfg: PodSecurityConfig,
  ns: string,
  policy: Policy,
  labels: Record<string, string>,
): string {
  if (fullyPrivileged(policy) || policyEquivalent(policy, cfg.defaults)) return '';
  const has = (k: string) => Object.hasOwn(labels, k);
  const parts: string[] = [];
  if (policy.enforce.level !== 'privileged' && (has(LABELS.enforce) || has(LABELS.enforceVersion)))
    parts.push(`enforce=${levelVersionString(policy.enforce)}`);
  if (policy.audit.level !== 'privileged' && (has(LABELS.audit) || has(LABELS.auditVersion)))
    parts.push(`audit=${levelVersionString(policy.audit)}`);
  if (policy.warn.level !== 'privileged' && (has(LABELS.warn) || has(LABELS.warnVersion)))
    parts.push(`warn=${levelVersionString(policy.warn)}`);
  return `namespace ${JSON.stringify(ns)} is exempt from Pod Security, and the policy (${parts.join(', ')}) will be ignored`;
}
