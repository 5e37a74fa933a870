// The DaemonSet controller's decisions as pure functions over (nodes, their decisions,
// the daemon pods per node): daemon_controller.go podsShouldBeOnNode and
// updateDaemonSetStatus, update.go rollingUpdate (maxUnavailable, or maxSurge).
import type { KubeObject } from '../../../proto/meta.js';
import { isPodAvailable, isPodReady } from '../../../proto/api/pod.js';
import type { NodeDecision } from './eligibility.js';
import { compareDaemonPods, isPodUpdated, REVISION_HASH_LABEL, scaledValue } from './pods.js';

export interface NodePlan {
  create: boolean;
  /** pods to delete now */
  delete: KubeObject[];
  /** Failed pods to delete, subject to the caller's per-node back-off */
  failed: KubeObject[];
}

export interface PlanOptions {
  hash: string;
  templateGeneration?: string;
  allowsSurge: boolean;
  minReadySeconds: number;
  now: number;
}

/** What one node needs: a new daemon pod, excess/unwanted pods deleted. */
export function podsShouldBeOnNode(d: NodeDecision, daemonPods: readonly KubeObject[], o: PlanOptions): NodePlan {
  const out: NodePlan = { create: false, delete: [], failed: [] };
  const exists = daemonPods.length > 0;
  if (d.shouldRun && !exists) {
    out.create = true;
    return out;
  }
  if (d.shouldContinueRunning) {
    const running: KubeObject[] = [];
    for (const pod of daemonPods) {
      if (pod.metadata.deletionTimestamp) continue;
      const phase = pod.status?.phase;
      if (phase === 'Failed') out.failed.push(pod);
      else if (phase === 'Succeeded') out.delete.push(pod);
      else running.push(pod);
    }
    running.sort(compareDaemonPods);
    if (!o.allowsSurge) {
      // more than one: keep the oldest
      out.delete.push(...running.slice(1));
      return out;
    }
    if (running.length <= 1) {
      if (running.length === 0 && d.shouldRun) out.create = true;
      return out;
    }
    // Surge: keep the oldest new pod and, while it is not available yet, the oldest ready old one.
    let oldestNew: KubeObject | undefined;
    let oldestOld: KubeObject | undefined;
    for (const pod of running) {
      if ((pod.metadata.labels ?? {})[REVISION_HASH_LABEL] === o.hash) {
        if (!oldestNew) {
          oldestNew = pod;
          continue;
        }
      } else if (!oldestOld) {
        oldestOld = pod;
        continue;
      }
      out.delete.push(pod);
    }
    if (oldestNew && oldestOld) {
      if (!isPodReady(oldestOld)) out.delete.push(oldestOld);
      else if (isPodAvailable(oldestNew, o.minReadySeconds, o.now)) out.delete.push(oldestOld);
    }
    return out;
  }
  if (exists) out.delete.push(...daemonPods.filter((p) => !p.metadata.deletionTimestamp));
  return out;
}

export interface RollingInput {
  /** eligible nodes (shouldRun) and every node that has daemon pods */
  nodeToPods: ReadonlyMap<string, readonly KubeObject[]>;
  shouldRun: (node: string) => boolean;
  maxUnavailable: unknown;
  maxSurge: unknown;
}

export interface RollingPlan {
  podsToDelete: KubeObject[];
  nodesToCreate: string[];
  maxUnavailable: number;
  maxSurge: number;
}

/** findUpdatedPodsOnNode: the new and the old pod (ignoring terminating ones); ok=false when either is duplicated */
export function findUpdatedPodsOnNode(
  pods: readonly KubeObject[],
  hash: string,
  templateGeneration?: string,
): { newPod?: KubeObject; oldPod?: KubeObject; ok: boolean } {
  let newPod: KubeObject | undefined;
  let oldPod: KubeObject | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, templateGeneration)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

/**
 * rollingUpdate: without surge, delete old available pods only while no more than
 * maxUnavailable daemon pods are unavailable (the manage loop then creates the new
 * pods); with surge, create new pods next to old ones (at most maxSurge at a time) and
 * delete an old pod once its replacement is available.
 */
export function planRollingUpdate(inp: RollingInput, o: PlanOptions): RollingPlan {
  const eligible = [...inp.nodeToPods.keys()].filter((n) => inp.shouldRun(n));
  const desired = eligible.length;
  let maxUnavailable = scaledValue(inp.maxUnavailable, desired);
  const maxSurge = scaledValue(inp.maxSurge, desired);
  // an impossible configuration falls back to one unavailable at a time
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  const available = (p: KubeObject) => isPodAvailable(p, o.minReadySeconds, o.now);
  const plan: RollingPlan = { podsToDelete: [], nodesToCreate: [], maxUnavailable, maxSurge };
  const nodes = [...inp.nodeToPods.keys()].sort();

  if (maxSurge === 0) {
    let numUnavailable = 0;
    const replacements: KubeObject[] = [];
    const candidates: KubeObject[] = [];
    for (const node of nodes) {
      const { newPod, oldPod, ok } = findUpdatedPodsOnNode(inp.nodeToPods.get(node)!, o.hash, o.templateGeneration);
      if (!ok) {
        numUnavailable++;
        continue;
      } // the manage loop cleans up first
      if ((!oldPod && !newPod) || (oldPod && newPod)) {
        numUnavailable++;
        continue;
      }
      if (newPod) {
        if (!available(newPod)) numUnavailable++;
        continue;
      }
      if (!available(oldPod!)) {
        // an old pod that is not available anyway is replaced at once
        replacements.push(oldPod!);
        numUnavailable++;
      } else if (numUnavailable < maxUnavailable) {
        candidates.push(oldPod!);
      }
    }
    const room = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidates.length);
    plan.podsToDelete = [...replacements, ...candidates.slice(0, room)];
    return plan;
  }

  let numSurge = 0;
  const allowedNew: string[] = [];
  const candidateNew: string[] = [];
  for (const node of nodes) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(inp.nodeToPods.get(node)!, o.hash, o.templateGeneration);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (!oldPod) continue; // nothing to replace; manage creates if missing
    if (!newPod) {
      if (!inp.shouldRun(node)) {
        plan.podsToDelete.push(oldPod);
        continue;
      }
      if (!available(oldPod)) allowedNew.push(node);
      else if (numSurge < maxSurge) candidateNew.push(node);
      continue;
    }
    // already surged here: wait for the new pod, then retire the old one
    if (!available(newPod)) {
      numSurge++;
      continue;
    }
    plan.podsToDelete.push(oldPod);
  }
  const room = Math.min(Math.max(0, maxSurge - numSurge), candidateNew.length);
  plan.nodesToCreate = [...allowedNew, ...candidateNew.slice(0, room)];
  return plan;
}

export interface DaemonSetCounts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
}

/** updateDaemonSetStatus over the node list: the numbers `kubectl get ds` prints */
export function computeCounts(
  nodes: readonly { name: string; shouldRun: boolean }[],
  nodeToPods: ReadonlyMap<string, readonly KubeObject[]>,
  o: PlanOptions,
): DaemonSetCounts {
  const c: DaemonSetCounts = {
    desiredNumberScheduled: 0,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
    updatedNumberScheduled: 0,
    numberAvailable: 0,
    numberUnavailable: 0,
  };
  for (const n of nodes) {
    const pods = nodeToPods.get(n.name) ?? [];
    const scheduled = pods.length > 0;
    if (!n.shouldRun) {
      if (scheduled) c.numberMisscheduled++;
      continue;
    }
    c.desiredNumberScheduled++;
    if (!scheduled) continue;
    c.currentNumberScheduled++;
    const pod = [...pods].sort(compareDaemonPods)[0]!;
    if (isPodReady(pod)) {
      c.numberReady++;
      if (isPodAvailable(pod, o.minReadySeconds, o.now)) c.numberAvailable++;
    }
    if (isPodUpdated(pod, o.hash, o.templateGeneration)) c.updatedNumberScheduled++;
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  return c;
}
