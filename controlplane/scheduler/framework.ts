// The scheduling framework (kube-scheduler pkg/scheduler/framework): filter plugins say
// whether a pod fits a node and why not, score plugins rank the nodes that fit, and
// `schedule` runs one cycle over a snapshot of nodes. Pure: no I/O, no clock.
import type { KubeObject } from '../../proto/meta.js';
import { newNodeInfo } from './node-info.js';
import { podRequests, type ResourceList } from './resources.js';

export const MAX_NODE_SCORE = 100;
/** ErrNoNodesAvailable */
export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** A node with what is already on it: the scheduler's view of one node in a cycle. */
export interface NodeInfo {
  name: string;
  node: KubeObject;
  /** pods bound (or assumed) to the node that still hold resources */
  pods: KubeObject[];
  /** sum of the pods' requests (podRequests) */
  requested: ResourceList;
  /** the same with missing cpu/memory requests counted as the scoring defaults */
  nonZeroRequested: ResourceList;
  /** status.allocatable; `pods` always present */
  allocatable: ResourceList;
  /**
   * the status of the node's Ready condition (True, False, Unknown, or undefined without
   * one), read once when the NodeInfo is built: the NodeReady filter runs for hundreds of
   * nodes per pod
   */
  ready: string | undefined;
}

/** The scheduler's view of claims, volumes and classes (its informers' listers). */
export interface VolumeListers {
  claim(namespace: string, name: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  volumes(): readonly KubeObject[];
  storageClass(name: string): KubeObject | undefined;
}

/** Per-cycle state computed once for the pod being scheduled (CycleState). */
export interface CycleContext {
  podRequests: ResourceList;
  podNonZeroRequests: ResourceList;
  nodeInfos: readonly NodeInfo[];
  /** absent: plugins that need claims/volumes let every pod through */
  volumes?: VolumeListers;
  /** what PreFilter plugins computed for this pod, by plugin name */
  state: Map<string, unknown>;
  /** node name -> pods nominated to it (status.nominatedNodeName) and not yet bound: the PodNominator */
  nominated?: ReadonlyMap<string, readonly KubeObject[]>;
}

/**
 * A filter's verdict. A rejection is Unschedulable (removing pods could help: preemption
 * tries the node) unless `unresolvable` (UnschedulableAndUnresolvable: it cannot).
 */
export type FilterResult = { fits: true } | { fits: false; reasons: string[]; unresolvable?: true };

export const FITS: FilterResult = { fits: true };

/** fwk.Unschedulable */
export function unschedulable(...reasons: string[]): FilterResult {
  return { fits: false, reasons };
}

/** fwk.UnschedulableAndUnresolvable: preemption does not try the node */
export function unresolvable(...reasons: string[]): FilterResult {
  return { fits: false, reasons, unresolvable: true };
}

export interface FilterPlugin {
  readonly name: string;
  /**
   * PreFilter: once per cycle before any node is filtered; a rejection makes the pod
   * unschedulable on every node with this message (UnschedulableAndUnresolvable).
   */
  preFilter?(ctx: CycleContext, pod: KubeObject): FilterResult;
  filter(ctx: CycleContext, pod: KubeObject, nodeInfo: NodeInfo): FilterResult;
}

export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  /** 0..MAX_NODE_SCORE, or a raw value that `normalize` maps into that range */
  score(ctx: CycleContext, pod: KubeObject, nodeInfo: NodeInfo): number;
  /** ScoreExtensions.NormalizeScore over all feasible nodes' scores, in order */
  normalize?(scores: number[]): number[];
}

export interface Profile {
  filters: FilterPlugin[];
  scores: ScorePlugin[];
}

/** Why a pod fits nowhere; `message` is what `kubectl describe pod` shows. */
export class FitError extends Error {
  override name = 'FitError';
  constructor(
    public readonly numAllNodes: number,
    /** node name -> the reasons of the first filter that rejected it */
    public readonly nodeReasons: ReadonlyMap<string, readonly string[]>,
    /** the reasons of the PreFilter plugin that rejected the pod, joined (Diagnosis.PreFilterMsg) */
    public readonly preFilterMsg = '',
    /** the nodes whose rejection was Unschedulable (not UnschedulableAndUnresolvable): preemption's potential nodes */
    public readonly resolvable: ReadonlySet<string> = new Set(),
  ) {
    super(fitErrorMessage(numAllNodes, nodeReasons, preFilterMsg));
  }

  /** Diagnosis.PostFilterMsg: what preemption said (`preemption: …`) ends the message as its own sentence */
  setPostFilterMsg(msg: string): void {
    const base = fitErrorMessage(this.numAllNodes, this.nodeReasons, this.preFilterMsg);
    this.message = msg ? `${base} ${msg}.` : base;
  }
}

export type ScheduleResult = { node: string } | { error: FitError };

/**
 * FitError.Error() up to the PostFilter (preemption) sentence:
 * `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable.` The
 * histogram entries are "<count> <reason>" sorted as strings, exactly as sort.Strings does.
 */
export function fitErrorMessage(
  numAllNodes: number,
  nodeReasons: ReadonlyMap<string, readonly string[]>,
  preFilterMsg = '',
): string {
  if (numAllNodes === 0) return NO_NODES_AVAILABLE;
  // a PreFilter rejection: its message alone, not once per node
  if (preFilterMsg) return `0/${numAllNodes} nodes are available: ${preFilterMsg}.`;
  const histogram = new Map<string, number>();
  for (const reasons of nodeReasons.values()) {
    for (const r of reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  }
  const entries = [...histogram].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let msg = `0/${numAllNodes} nodes are available:`;
  if (entries.length) msg += ` ${entries.join(', ')}.`;
  return msg;
}

export function newCycleContext(
  pod: KubeObject,
  nodeInfos: readonly NodeInfo[],
  volumes?: VolumeListers,
  nominated?: ReadonlyMap<string, readonly KubeObject[]>,
): CycleContext {
  return {
    podRequests: podRequests(pod),
    podNonZeroRequests: podRequests(pod, true),
    nodeInfos,
    ...(volumes ? { volumes } : {}),
    ...(nominated ? { nominated } : {}),
    state: new Map(),
  };
}

/** corev1helpers.PodPriority: spec.priority, 0 when unset */
export function podPriority(pod: KubeObject): number {
  const p: unknown = pod.spec?.priority;
  return typeof p === 'number' ? p : 0;
}

/** A copy of a NodeInfo with `add` pods added and `remove` pods (by uid) taken away. */
export function withPods(
  info: NodeInfo,
  add: readonly KubeObject[],
  remove: ReadonlySet<string> = new Set(),
): NodeInfo {
  return newNodeInfo(info.node, [...info.pods.filter((p) => !remove.has(p.metadata.uid!)), ...add]);
}

/** Runs filters in order; the first one that rejects decides the node's reasons (RunFilterPlugins). */
export function filterNode(
  ctx: CycleContext,
  pod: KubeObject,
  nodeInfo: NodeInfo,
  filters: readonly FilterPlugin[],
): FilterResult {
  for (const f of filters) {
    const r = f.filter(ctx, pod, nodeInfo);
    if (!r.fits) return r;
  }
  return FITS;
}

/**
 * RunFilterPluginsWithNominatedPods: pods nominated to the node with a priority at least the
 * pod's (other than itself) count as if already there, so a lower-priority pod does not take
 * the room a preemptor freed; when they were added and the pod fits, it must fit without them
 * too (inter-pod affinity to a nominated pod must not decide).
 */
export function filterNodeWithNominated(
  ctx: CycleContext,
  pod: KubeObject,
  nodeInfo: NodeInfo,
  filters: readonly FilterPlugin[],
): FilterResult {
  const prio = podPriority(pod);
  const add = (ctx.nominated?.get(nodeInfo.name) ?? []).filter(
    (np) => np.metadata.uid !== pod.metadata.uid && podPriority(np) >= prio,
  );
  if (!add.length) return filterNode(ctx, pod, nodeInfo, filters);
  const r = filterNode(ctx, pod, withPods(nodeInfo, add), filters);
  if (!r.fits) return r;
  return filterNode(ctx, pod, nodeInfo, filters);
}

/** helper.DefaultNormalizeScore: scale to 0..MAX_NODE_SCORE by the highest score, optionally reversed. */
export function defaultNormalizeScore(scores: number[], reverse: boolean): number[] {
  const max = Math.max(0, ...scores);
  if (max === 0) return scores.map(() => (reverse ? MAX_NODE_SCORE : 0));
  return scores.map((s) => {
    const v = Math.floor((MAX_NODE_SCORE * s) / max);
    return reverse ? MAX_NODE_SCORE - v : v;
  });
}

/** Weighted total per feasible node, in `nodes` order (RunScorePlugins). */
export function scoreNodes(
  ctx: CycleContext,
  pod: KubeObject,
  nodes: readonly NodeInfo[],
  plugins: readonly ScorePlugin[],
): number[] {
  const totals = nodes.map(() => 0);
  for (const p of plugins) {
    let scores = nodes.map((n) => p.score(ctx, pod, n));
    if (p.normalize) scores = p.normalize(scores);
    scores.forEach((s, i) => {
      const clamped = Math.min(MAX_NODE_SCORE, Math.max(0, Number.isFinite(s) ? s : 0));
      totals[i]! += clamped * p.weight;
    });
  }
  return totals;
}

/** kube-scheduler's minFeasibleNodesToFind: below this many nodes every node is filtered and scored */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** minFeasibleNodesPercentageToFind: the adaptive percentage never goes below this */
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/**
 * numFeasibleNodesToFind: how many feasible nodes a cycle looks for before it stops
 * filtering and scores them. percentageOfNodesToScore 0 (unset) is adaptive: 50% minus 1%
 * per 125 nodes, at least 5%; the result is at least 100 nodes (all of them below 100).
 */
export function numFeasibleNodesToFind(percentageOfNodesToScore: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let percentage = Math.trunc(percentageOfNodesToScore);
  if (percentage === 0) {
    percentage = 50 - Math.trunc(numAllNodes / 125);
    if (percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const numNodes = Math.trunc((numAllNodes * percentage) / 100);
  if (numNodes < MIN_FEASIBLE_NODES_TO_FIND) return MIN_FEASIBLE_NODES_TO_FIND;
  return numNodes;
}

/** Where the next cycle starts filtering (Scheduler.nextStartNodeIndex), so every node gets its turn. */
export interface NodeSampling {
  /** percentageOfNodesToScore: 0 = adaptive, 100 = every node */
  percentageOfNodesToScore: number;
  nextStartNodeIndex: number;
}

/**
 * One scheduling cycle: filter nodes, score the feasible ones, pick the best. With
 * `sampling`, filtering starts at its nextStartNodeIndex, wraps around and stops once
 * numFeasibleNodesToFind nodes fit (findNodesThatPassFilters), and the index moves past
 * the nodes processed; without it every node is filtered. A pod that fits nowhere has
 * been tried on every node, so its FitError is complete either way.
 * Ties are broken at random among the best, as selectHost's reservoir sampling does.
 */
export function schedule(
  pod: KubeObject,
  nodeInfos: readonly NodeInfo[],
  profile: Profile,
  opts: {
    random?: () => number;
    volumes?: VolumeListers;
    nominated?: ReadonlyMap<string, readonly KubeObject[]>;
    sampling?: NodeSampling;
  } = {},
): ScheduleResult {
  const ctx = newCycleContext(pod, nodeInfos, opts.volumes, opts.nominated);
  if (nodeInfos.length > 0) {
    for (const f of profile.filters) {
      const r = f.preFilter?.(ctx, pod);
      if (r && !r.fits)
        return {
          error: new FitError(
            nodeInfos.length,
            new Map(nodeInfos.map((n) => [n.name, r.reasons])),
            r.reasons.join(', '),
          ),
        };
    }
  }
  // evaluateNominatedNode: a pod nominated by an earlier preemption goes there if it fits now
  const nominatedNode = pod.status?.nominatedNodeName;
  const nominatedInfo = nominatedNode ? nodeInfos.find((n) => n.name === nominatedNode) : undefined;
  if (nominatedInfo && filterNodeWithNominated(ctx, pod, nominatedInfo, profile.filters).fits)
    return { node: nominatedInfo.name };
  const feasible: NodeInfo[] = [];
  const reasons = new Map<string, readonly string[]>();
  const resolvable = new Set<string>();
  const all = nodeInfos.length;
  const sampling = opts.sampling;
  const toFind = sampling ? numFeasibleNodesToFind(sampling.percentageOfNodesToScore, all) : all;
  const start = sampling && all ? sampling.nextStartNodeIndex % all : 0;
  let processed = 0;
  for (; processed < all && feasible.length < toFind; processed++) {
    const n = nodeInfos[(start + processed) % all]!;
    const r = filterNodeWithNominated(ctx, pod, n, profile.filters);
    if (r.fits) feasible.push(n);
    else {
      reasons.set(n.name, r.reasons);
      if (!r.unresolvable) resolvable.add(n.name);
    }
  }
  if (sampling && all) sampling.nextStartNodeIndex = (start + processed) % all;
  if (feasible.length === 0) return { error: new FitError(nodeInfos.length, reasons, '', resolvable) };
  if (feasible.length === 1) return { node: feasible[0]!.name };
  const totals = scoreNodes(ctx, pod, feasible, profile.scores);
  const random = opts.random ?? Math.random;
  let best = 0;
  let ties = 1;
  for (let i = 1; i < feasible.length; i++) {
    if (totals[i]! > totals[best]!) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best]) {
      ties++;
      if (Math.floor(random() * ties) === 0) best = i;
    }
  }
  return { node: feasible[best]!.name };
}
