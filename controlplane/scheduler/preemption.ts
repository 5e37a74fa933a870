// DefaultPreemption's planning (pkg/scheduler/framework/plugins/defaultpreemption and
// framework/preemption): when a pod fits no node, which lower-priority pods to remove and
// where. For each node whose rejection removing pods could cure (Unschedulable, not
// UnschedulableAndUnresolvable), remove every strictly lower-priority pod, re-run the
// filters, then give pods back greedily from the most important (PodDisruptionBudget
// violating ones first) while the preemptor still fits; pick one node by the upstream
// tie-breakers. Pure: no I/O; the scheduler loop performs the plan.
import type { KubeObject } from '../../proto/meta.js';
import { selectorMatches, type LabelSelector } from '../resources/label-selector.js';
import {
  fitErrorMessage,
  filterNodeWithNominated,
  newCycleContext,
  podPriority,
  type CycleContext,
  type FilterResult,
  type FitError,
  type NodeInfo,
  type Profile,
  type VolumeListers,
} from './framework.js';
import { addInto, podRequests } from './resources.js';

export const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';
export const NOT_ELIGIBLE_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const NOT_ELIGIBLE_TERMINATING = 'not eligible due to a terminating pod on the nominated node.';
/** v1.PodReasonPreemptionByScheduler */
export const REASON_PREEMPTION_BY_SCHEDULER = 'PreemptionByScheduler';

export interface Victims {
  /** most important first */
  pods: KubeObject[];
  numPDBViolations: number;
}

export interface Candidate {
  node: string;
  victims: Victims;
}

export type PreemptionPlan =
  /** PodEligibleToPreemptOthers said no: the nomination stays as it is */
  | { kind: 'ineligible'; message: string }
  /** no node helps: `message` is the FitError of the dry run; the nomination is cleared */
  | { kind: 'none'; message: string }
  | { kind: 'preempt'; candidate: Candidate };

/** util.GetPodStartTime: status.startTime, or now for a pod not started yet (ms). */
export function podStartTime(pod: KubeObject, now: number): number {
  const t = Date.parse(typeof pod.status?.startTime === 'string' ? pod.status.startTime : '');
  return Number.isNaN(t) ? now : t;
}

/** util.MoreImportantPod: higher priority, then the one running longer. */
export function moreImportantPod(a: KubeObject, b: KubeObject, now: number): boolean {
  const pa = podPriority(a);
  const pb = podPriority(b);
  if (pa !== pb) return pa > pb;
  return podStartTime(a, now) < podStartTime(b, now);
}

/** A sort comparator, most important first (start times parsed once per pod). */
function importanceOrder(now: number): (a: KubeObject, b: KubeObject) => number {
  const starts = new Map<KubeObject, number>();
  const start = (p: KubeObject) => {
    let t = starts.get(p);
    if (t === undefined) starts.set(p, (t = podStartTime(p, now)));
    return t;
  };
  return (a, b) => podPriority(b) - podPriority(a) || start(a) - start(b);
}

/** podTerminatingByPreemption: being deleted with DisruptionTarget=True/PreemptionByScheduler */
export function podTerminatingByPreemption(pod: KubeObject): boolean {
  if (!pod.metadata.deletionTimestamp) return false;
  const conds: unknown[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
  const c = conds.find(
    (x): x is { type: string; status?: string; reason?: string } =>
      typeof x === 'object' && x !== null && (x as { type?: unknown }).type === 'DisruptionTarget',
  );
  return !!c && c.status === 'True' && c.reason === REASON_PREEMPTION_BY_SCHEDULER;
}

/**
 * filterPodsWithPDBViolation: in order, a pod whose removal takes a matching budget
 * (same namespace, selector matches, pod not already in disruptedPods) below zero
 * disruptionsAllowed is violating. Stable.
 */
export function filterPodsWithPDBViolation(
  pods: readonly KubeObject[],
  pdbs: readonly KubeObject[],
): { violating: KubeObject[]; nonViolating: KubeObject[] } {
  const allowed = pdbs.map((p) => (typeof p.status?.disruptionsAllowed === 'number' ? p.status.disruptionsAllowed : 0));
  const violating: KubeObject[] = [];
  const nonViolating: KubeObject[] = [];
  for (const pod of pods) {
    let violated = false;
    const labels = pod.metadata.labels ?? {};
    if (Object.keys(labels).length) {
      pdbs.forEach((pdb, i) => {
        if (pdb.metadata.namespace !== pod.metadata.namespace) return;
        const sel = pdb.spec?.selector as LabelSelector | undefined;
        // a nil or empty selector matches nothing here
        if (!sel || Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) return;
        if (!selectorMatches(sel, labels)) return;
        const disrupted = pdb.status?.disruptedPods;
        if (disrupted && typeof disrupted === 'object' && Object.hasOwn(disrupted, pod.metadata.name!)) return;
        allowed[i]!--;
        if (allowed[i]! < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(pod);
  }
  return { violating, nonViolating };
}

/**
 * SelectVictimsOnNode: the fewest (most important kept) lower-priority pods whose removal
 * lets `pod` pass the filters on this node, or why none does.
 */
export function selectVictimsOnNode(
  ctx: CycleContext,
  pod: KubeObject,
  nodeInfo: NodeInfo,
  profile: Profile,
  pdbs: readonly KubeObject[],
  now: number,
): Victims | { fits: false; reasons: string[]; unresolvable?: true } {
  const prio = podPriority(pod);
  const potential = nodeInfo.pods.filter((p) => podPriority(p) < prio);
  if (!potential.length) return { fits: false, reasons: [NO_VICTIMS], unresolvable: true };
  // a copy of the node without them (NodeInfo.Snapshot + RemovePod), changed in place below;
  // each pod's requests computed once
  const reqs = new Map(potential.map((p) => [p, { req: podRequests(p), nz: podRequests(p, true) }]));
  const move = (p: KubeObject, sign: 1 | -1) => {
    const r = reqs.get(p)!;
    addInto(work.requested, r.req, sign);
    addInto(work.nonZeroRequested, r.nz, sign);
  };
  const gone = new Set(potential);
  const work: NodeInfo = {
    ...nodeInfo,
    pods: nodeInfo.pods.filter((p) => !gone.has(p)),
    requested: { ...nodeInfo.requested },
    nonZeroRequested: { ...nodeInfo.nonZeroRequested },
  };
  for (const p of potential) move(p, -1);
  const check = (): FilterResult => filterNodeWithNominated(ctx, pod, work, profile.filters);
  const first = check();
  if (!first.fits) return first;
  const byImportance = importanceOrder(now);
  potential.sort(byImportance);
  const { violating, nonViolating } = filterPodsWithPDBViolation(potential, pdbs);
  const victims: KubeObject[] = [];
  const reprieve = (p: KubeObject): boolean => {
    work.pods.push(p);
    move(p, 1);
    if (check().fits) return true;
    work.pods.pop();
    move(p, -1);
    victims.push(p);
    return false;
  };
  let numPDBViolations = 0;
  for (const p of violating) if (!reprieve(p)) numPDBViolations++;
  for (const p of nonViolating) reprieve(p);
  if (violating.length && nonViolating.length) victims.sort(byImportance);
  return { pods: victims, numPDBViolations };
}

/** util.GetEarliestPodStartTime: the earliest start among the highest-priority victims. */
function earliestStartOfHighest(pods: readonly KubeObject[], now: number): number {
  let maxPrio = podPriority(pods[0]!);
  let earliest = podStartTime(pods[0]!, now);
  for (const p of pods) {
    const pr = podPriority(p);
    if (pr === maxPrio) earliest = Math.min(earliest, podStartTime(p, now));
    else if (pr > maxPrio) {
      maxPrio = pr;
      earliest = podStartTime(p, now);
    }
  }
  return earliest;
}

/**
 * pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-priority victim,
 * the smallest sum of priorities, the fewest victims, the latest start of the highest-priority
 * victims; the first candidate among remaining ties.
 */
export function pickOneNodeForPreemption(candidates: readonly Candidate[], now: number): Candidate | undefined {
  if (candidates.length <= 1) return candidates[0];
  const scores: Array<(c: Candidate) => number> = [
    (c) => -c.victims.numPDBViolations,
    (c) => -podPriority(c.victims.pods[0]!),
    // each priority shifted by 2^31 so that a few negative ones are not preferred over fewer
    (c) => -c.victims.pods.reduce((s, p) => s + podPriority(p) + 2 ** 31, 0),
    (c) => -c.victims.pods.length,
    (c) => earliestStartOfHighest(c.victims.pods, now),
  ];
  let all = [...candidates];
  for (const f of scores) {
    let best = -Infinity;
    let selected: Candidate[] = [];
    for (const c of all) {
      const s = f(c);
      if (s > best) {
        best = s;
        selected = [];
      }
      if (s === best) selected.push(c);
    }
    if (selected.length === 1) return selected[0];
    all = selected;
  }
  return all[0];
}

/**
 * PodEligibleToPreemptOthers: not with preemptionPolicy Never; not while a pod it already
 * preempted is still terminating on its nominated node (unless that node can no longer take it).
 */
export function podEligibleToPreemptOthers(
  pod: KubeObject,
  nodeInfos: readonly NodeInfo[],
  fitError: FitError,
): { ok: true } | { ok: false; message: string } {
  if (pod.spec?.preemptionPolicy === 'Never') return { ok: false, message: NOT_ELIGIBLE_NEVER };
  const nom: unknown = pod.status?.nominatedNodeName;
  if (typeof nom === 'string' && nom) {
    // an absent node's status is UnschedulableAndUnresolvable: eligible
    if (!fitError.resolvable.has(nom)) return { ok: true };
    const info = nodeInfos.find((n) => n.name === nom);
    const prio = podPriority(pod);
    if (info?.pods.some((p) => podPriority(p) < prio && podTerminatingByPreemption(p)))
      return { ok: false, message: NOT_ELIGIBLE_TERMINATING };
  }
  return { ok: true };
}

export interface PreemptionInput {
  pod: KubeObject;
  nodeInfos: readonly NodeInfo[];
  profile: Profile;
  fitError: FitError;
  pdbs: readonly KubeObject[];
  volumes?: VolumeListers;
  nominated?: ReadonlyMap<string, readonly KubeObject[]>;
  now: number;
}

/** Evaluator.Preempt up to the choice of a candidate: eligibility, dry run, SelectCandidate. */
export function planPreemption(input: PreemptionInput): PreemptionPlan {
  const { pod, nodeInfos, profile, fitError, pdbs, now } = input;
  const eligible = podEligibleToPreemptOthers(pod, nodeInfos, fitError);
  if (!eligible.ok) return { kind: 'ineligible', message: eligible.message };
  const ctx = newCycleContext(pod, nodeInfos, input.volumes, input.nominated);
  for (const f of profile.filters) f.preFilter?.(ctx, pod); // their per-cycle state
  const statuses = new Map<string, readonly string[]>();
  const nonViolating: Candidate[] = [];
  const violating: Candidate[] = [];
  for (const info of nodeInfos) {
    if (!fitError.resolvable.has(info.name)) continue;
    const r = selectVictimsOnNode(ctx, pod, info, profile, pdbs, now);
    if ('pods' in r) {
      if (r.pods.length) (r.numPDBViolations === 0 ? nonViolating : violating).push({ node: info.name, victims: r });
      else statuses.set(info.name, [`expected at least one victim pod on node "${info.name}"`]);
    } else {
      statuses.set(info.name, r.reasons);
    }
  }
  const candidates = [...nonViolating, ...violating];
  const best = pickOneNodeForPreemption(candidates, now);
  if (!best) {
    for (const n of nodeInfos) if (!statuses.has(n.name)) statuses.set(n.name, [NOT_HELPFUL]);
    return { kind: 'none', message: fitErrorMessage(nodeInfos.length, statuses) };
  }
  return { kind: 'preempt', candidate: best };
}

/** getLowerPriorityNominatedPods: pods nominated to `node` with a lower priority than `pod`. */
export function lowerPriorityNominatedPods(
  pod: KubeObject,
  node: string,
  nominated: ReadonlyMap<string, readonly KubeObject[]>,
): KubeObject[] {
  const prio = podPriority(pod);
  return (nominated.get(node) ?? []).filter((p) => p.metadata.uid !== pod.metadata.uid && podPriority(p) < prio);
}

/** The DisruptionTarget condition preemption puts on a victim before deleting it. */
export function preemptionCondition(
  schedulerName: string,
  now: string,
  prev?: { status?: string; lastTransitionTime?: string },
): Record<string, unknown> {
  return {
    type: 'DisruptionTarget',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: prev?.status === 'True' && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    reason: REASON_PREEMPTION_BY_SCHEDULER,
    message: `${schedulerName}: preempting to accommodate a higher priority pod`,
  };
}
