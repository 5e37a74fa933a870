// The Priority admission plugin on pod create (plugin/pkg/admission/priority): the pod's
// priorityClassName (or the globalDefault class, or none: 0 / PreemptLowerPriority) is
// resolved to spec.priority and spec.preemptionPolicy; an unknown class, or a priority or
// policy the client set that disagrees with the class, is refused with 403.
//
// Pod defaulting (pod-defaults.ts) fills priority 0 and PreemptLowerPriority before
// admission runs, so pod.prepareForCreate records what the client itself sent
// (rememberRequestedPriority) and the plugin judges that, as upstream sees the request.
// Map of the code base: ARCHITECTURE.md, "Where each rule lives".
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import { isRecord } from '../resources/meta-validation.js';
import {
  defaultPriorityClass,
  systemPriorityClassObject,
  SYSTEM_PRIORITY_CLASSES,
} from '../resources/priority-class.js';
import type { AdmissionContext } from '../resources/types.js';

interface Requested {
  priority?: number;
  preemptionPolicy?: string;
}
const requested = new WeakMap<object, Requested>();

/** before defaulting: what the client set in spec.priority / spec.preemptionPolicy */
export function rememberRequestedPriority(pod: KubeObject): void {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const r: Requested = {};
  if (typeof spec.priority === 'number') r.priority = spec.priority;
  if (typeof spec.preemptionPolicy === 'string' && spec.preemptionPolicy) r.preemptionPolicy = spec.preemptionPolicy;
  requested.set(pod, r);
}

export type PriorityDecision =
  | { ok: true; priorityClassName: string; priority: number; preemptionPolicy: string }
  | { ok: false; message: string };

/** Pure: the admission's verdict for a pod naming `className` (maybe '') among `classes`. */
export function decidePodPriority(className: string, req: Requested, classes: KubeObject[]): PriorityDecision {
  let name = className;
  let priority = 0;
  let policy = 'PreemptLowerPriority';
  if (!className) {
    const dpc = defaultPriorityClass(classes);
    if (dpc) {
      name = dpc.metadata?.name ?? '';
      priority = Number(dpc.value ?? 0);
      if (typeof dpc.preemptionPolicy === 'string' && dpc.preemptionPolicy) policy = dpc.preemptionPolicy;
    }
  } else {
    const pc =
      classes.find((c) => c.metadata?.name === className) ??
      SYSTEM_PRIORITY_CLASSES.filter((c) => c.name === className).map(systemPriorityClassObject)[0];
    if (!pc) return { ok: false, message: `no PriorityClass with name ${className} was found` };
    priority = Number(pc.value ?? 0);
    if (typeof pc.preemptionPolicy === 'string' && pc.preemptionPolicy) policy = pc.preemptionPolicy;
  }
  if (req.priority !== undefined && req.priority !== priority) {
    return {
      ok: false,
      message: `the integer value of priority (${req.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
    };
  }
  if (req.preemptionPolicy !== undefined && req.preemptionPolicy !== policy) {
    return {
      ok: false,
      message: `the string value of PreemptionPolicy (${req.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
    };
  }
  return { ok: true, priorityClassName: name, priority, preemptionPolicy: policy };
}

/** the plugin's Admit for a pod create (mirror pods and all: kube-apiserver runs it for every pod) */
export async function admitPodPriority(pod: KubeObject, ctx: AdmissionContext): Promise<void> {
  if (!isRecord(pod.spec)) pod.spec = {};
  const spec = pod.spec;
  const className = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
  const req = requested.get(pod) ?? {};
  const classes = await ctx.list('scheduling.k8s.io', 'v1', 'priorityclasses');
  const d = decidePodPriority(className, req, classes);
  if (!d.ok) {
    const name = pod.metadata?.name || pod.metadata?.generateName || 'Unknown';
    throw new ApiError(403, 'Forbidden', `pods "${name}" is forbidden: ${d.message}`, { name, kind: 'pods' });
  }
  if (d.priorityClassName) spec.priorityClassName = d.priorityClassName;
  spec.priority = d.priority;
  spec.preemptionPolicy = d.preemptionPolicy;
}
