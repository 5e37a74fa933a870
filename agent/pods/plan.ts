// Plan, then act (kubelet's kuberuntime_manager computePodActions): from a pod's spec
// and what the runtime shows, decide — purely — whether to kill the pod, create a
// sandbox, and which containers to start or kill; then hold the starts back while the
// pod's volumes or the pod network are not ready (kubelet's WaitForAttachAndMount and
// network-plugin gates). The pod worker carries it out and comes back when its
// SyncResult says.
import type { KubeObject } from '../../proto/meta.js';
import type { Container } from '../../proto/api/types.gen.js';
import type { RuntimeContainer } from '../runtime/types.js';
import { containerHash } from '../runtime/labels.js';
import type { BackOff } from './backoff.js';
import { failedProbe } from '../probes/rules.js';
import type { ContainerProbeResults } from '../probes/types.js';

/** the pod the planner reads: the stored Pod */
export type PlanPod = KubeObject<'Pod'>;

/**
 * What one sync of a pod returns (kubelet's pod worker completeWork: every sync says when
 * to come back): the worker keeps one timer per pod, set from the latest sync's result.
 * No requeueAfter: nothing is due; runtime events, probe results and updates wake it.
 */
export interface SyncResult {
  requeueAfter?: number;
  /** why (ImagePullBackOff, CrashLoopBackOff, NetworkNotReady, ...): for the log and tests */
  reason: string;
}

/** the sync result that comes back first (a sync is idempotent: the earliest need wins) */
export function soonest(a: SyncResult, b: SyncResult | undefined): SyncResult {
  if (b?.requeueAfter === undefined) return a;
  if (a.requeueAfter === undefined || b.requeueAfter < a.requeueAfter) return b;
  return a;
}

/** nothing due: a sync without a timer */
export const SYNCED: SyncResult = { reason: 'Synced' };

export interface StartAction {
  name: string;
  attempt: number;
  init: boolean;
}
export interface KillAction {
  id: string;
  name: string;
  /** why, as kubelet words it; the Killing event's message when it names the container */
  reason: string;
  /** probe-level terminationGracePeriodSeconds of the failed liveness/startup probe */
  gracePeriodSeconds?: number;
}

export interface PodActions {
  /** stop every container and the sandbox (pod deleted, finished, or sandbox gone) */
  killPod: boolean;
  createSandbox: boolean;
  sandboxAttempt: number;
  /** the running sandbox to use, when not creating one */
  sandboxId?: string;
  start: StartAction[];
  kill: KillAction[];
  /** containers waiting out their restart back-off: name -> message */
  backingOff: Record<string, string>;
  /** old exited containers to remove (keep the latest two attempts per name, as kubelet's GC keeps the last) */
  remove: string[];
}

/** old exited containers and sandboxes: all but the two newest attempts of each container, all but the newest sandbox */
export function garbageContainers(observed: RuntimeContainer[]): string[] {
  const out: string[] = [];
  for (const list of latestPerName(observed).values())
    for (const c of list.slice(2)) if (c.state !== 'running') out.push(c.id);
  const sandboxes = observed.filter((c) => c.type === 'sandbox').sort(byAttemptDesc);
  for (const s of sandboxes.slice(1)) if (s.state !== 'running') out.push(s.id);
  return out;
}

/** newest first by attempt, then by creation */
export function byAttemptDesc(a: RuntimeContainer, b: RuntimeContainer): number {
  return b.attempt - a.attempt || (b.createdAt ?? '').localeCompare(a.createdAt ?? '');
}

export function latestPerName(observed: RuntimeContainer[]): Map<string, RuntimeContainer[]> {
  const m = new Map<string, RuntimeContainer[]>();
  for (const c of observed) {
    if (c.type !== 'container') continue;
    const list = m.get(c.containerName) ?? [];
    list.push(c);
    m.set(c.containerName, list);
  }
  for (const l of m.values()) l.sort(byAttemptDesc);
  return m;
}

function shouldRestart(policy: string, c: RuntimeContainer): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return (c.exitCode ?? 1) !== 0;
  return false;
}

/**
 * `probes` holds the probe results of running containers by container id: a failed
 * liveness or startup probe kills the container, and a new attempt starts unless the
 * restartPolicy is Never or the restart back-off is still running.
 */
export function computePodActions(
  pod: PlanPod,
  observed: RuntimeContainer[],
  backoff: BackOff,
  nowMs: number,
  probes: Record<string, ContainerProbeResults> = {},
): PodActions {
  const uid = pod.metadata.uid ?? '';
  const sandboxes = observed.filter((c) => c.type === 'sandbox').sort(byAttemptDesc);
  const running = sandboxes.find((s) => s.state === 'running');
  const byName = latestPerName(observed);
  const actions: PodActions = {
    killPod: false,
    createSandbox: false,
    sandboxAttempt: (sandboxes[0]?.attempt ?? -1) + 1,
    sandboxId: running?.id,
    start: [],
    kill: [],
    backingOff: {},
    remove: [],
  };
  const policy = pod.spec.restartPolicy ?? 'Always';
  const phase = pod.status?.phase;

  actions.remove = garbageContainers(observed);

  if (pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') {
    actions.killPod = observed.some((c) => c.state === 'running' || c.state === 'created');
    return actions;
  }

  const initContainers = pod.spec.initContainers ?? [];
  if (!running) {
    // no live sandbox: (re)create it; every container starts again with it
    const everRan = sandboxes.length > 0;
    if (
      everRan &&
      policy === 'Never' &&
      initDone(initContainers, byName) &&
      pod.spec.containers.every((c) => byName.get(c.name)?.length)
    ) {
      actions.killPod = observed.some((c) => c.state === 'running');
      return actions;
    }
    actions.killPod = observed.some((c) => c.state === 'running');
    actions.createSandbox = true;
    actions.sandboxId = undefined;
  }

  // init containers run one at a time, in order, each to success
  for (const ic of initContainers) {
    const latest = byName.get(ic.name)?.[0];
    if (latest && latest.state === 'exited' && latest.exitCode === 0 && !actions.createSandbox) continue;
    if (latest && latest.state === 'running' && !actions.createSandbox) return actions; // wait for it
    if (latest && latest.state === 'exited' && !actions.createSandbox) {
      if (policy === 'Never') return actions; // the pod has failed
      const key = `${uid}/${ic.name}`;
      if (backoff.inBackOff(key, Date.parse(latest.finishedAt ?? '') || nowMs, nowMs)) {
        actions.backingOff[ic.name] =
          `back-off ${Math.ceil(backoff.delayMs(key) / 1000)}s restarting failed container=${ic.name} pod=${uid}`;
        return actions;
      }
      actions.start.push({ name: ic.name, attempt: latest.attempt + 1, init: true });
      return actions;
    }
    actions.start.push({
      name: ic.name,
      attempt: latest && !actions.createSandbox ? latest.attempt + 1 : latest ? latest.attempt + 1 : 0,
      init: true,
    });
    return actions;
  }

  for (const c of pod.spec.containers) {
    const latest = byName.get(c.name)?.[0];
    const key = `${uid}/${c.name}`;
    if (!latest) {
      actions.start.push({ name: c.name, attempt: 0, init: false });
      continue;
    }
    if (actions.createSandbox) {
      if (latest.state === 'running')
        actions.kill.push({
          id: latest.id,
          name: c.name,
          reason: 'pod sandbox changed, it will be killed and re-created',
        });
      actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      continue;
    }
    if (latest.state === 'running' || latest.state === 'created') {
      if (latest.hash && latest.hash !== containerHash({ ...c })) {
        actions.kill.push({
          id: latest.id,
          name: c.name,
          reason: `Container ${c.name} definition changed, will be restarted`,
        });
        actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      } else if (latest.state === 'created') {
        actions.kill.push({ id: latest.id, name: c.name, reason: 'container was created but never started' });
        actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      } else {
        const failed = failedProbe(probes[latest.id]);
        if (!failed) continue;
        // kuberuntime computePodActions: "Container app failed liveness probe, will be restarted"
        const restart = policy !== 'Never';
        const kill: KillAction = {
          id: latest.id,
          name: c.name,
          reason: `Container ${c.name} failed ${failed} probe${restart ? ', will be restarted' : ''}`,
        };
        const probeGrace = c[`${failed}Probe`]?.terminationGracePeriodSeconds;
        if (typeof probeGrace === 'number') kill.gracePeriodSeconds = probeGrace;
        actions.kill.push(kill);
        if (!restart) continue;
        // kubelet's doBackOff looks at the previous exit of this container
        const prev = byName.get(c.name)?.find((x) => x.state === 'exited');
        if (prev && backoff.inBackOff(key, Date.parse(prev.finishedAt ?? '') || nowMs, nowMs)) {
          actions.backingOff[c.name] =
            `back-off ${Math.ceil(backoff.delayMs(key) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name ?? uid}_${pod.metadata.namespace ?? ''}(${uid})`;
          continue;
        }
        actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      }
      continue;
    }
    // exited
    if (!shouldRestart(policy, latest)) continue;
    if (backoff.inBackOff(key, Date.parse(latest.finishedAt ?? '') || nowMs, nowMs)) {
      actions.backingOff[c.name] =
        `back-off ${Math.ceil(backoff.delayMs(key) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name ?? uid}_${pod.metadata.namespace ?? ''}(${uid})`;
      continue;
    }
    actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
  }
  return actions;
}

function initDone(init: Container[], byName: Map<string, RuntimeContainer[]>): boolean {
  return init.every((ic) => {
    const l = byName.get(ic.name)?.[0];
    return l && l.state === 'exited' && l.exitCode === 0;
  });
}

// ---------------------------------------------------------------------------------------
// Gates: what may start this sync, once the pod's volumes and the pod network are known.

/** retries of a pod whose claims are not bound yet: 200 ms doubling to 2 s */
export const CLAIM_RETRY_MIN_MS = 200;
export const CLAIM_RETRY_MAX_MS = 2000;
/** a pod whose configMap/secret/... volumes could not be set up tries again after this */
export const VOLUME_RETRY_MS = 5000;
/** a pod waiting for the pod network tries again after this */
export const NETWORK_RETRY_MS = 1000;

export interface VolumeGate {
  /** configMap/secret/downwardAPI/projected volumes never set up yet */
  volumesPending: boolean;
  /** persistentVolumeClaim volumes not resolved to a directory yet */
  claimsPending: boolean;
  /** the wait before looking at unbound claims again */
  claimRetryMs: number;
}

export interface GatedActions {
  /** the containers to start this sync */
  start: StartAction[];
  /** make a new sandbox (then start `start` in it; the network gate may still hold it back) */
  createSandbox: boolean;
  /** the running sandbox to start containers in, when no new one is made */
  sandboxId?: string;
  /** the next claimRetryMs */
  claimRetryMs: number;
  requeue?: SyncResult;
}

/**
 * kubelet's WaitForAttachAndMount: no sandbox and no container starts until every volume
 * is set up (the containers stay waiting with the default reason, ContainerCreating or
 * PodInitializing). A claim is usually bound moments after its pod lands here (the
 * provisioner runs once the scheduler picked this node): look again soon, then less often
 * (kubelet's volume manager polls every 100-300 ms).
 */
export function gateOnVolumes(actions: PodActions, g: VolumeGate): GatedActions {
  const blocked = (g.volumesPending || g.claimsPending) && actions.start.length > 0;
  if (!blocked) {
    const createSandbox = actions.createSandbox && actions.start.length + actions.kill.length > 0;
    return { start: actions.start, createSandbox, sandboxId: actions.sandboxId, claimRetryMs: CLAIM_RETRY_MIN_MS };
  }
  // (a pod that needs a new sandbox has none to start in: actions.sandboxId is undefined then)
  const base = { start: [], createSandbox: false, sandboxId: actions.sandboxId };
  if (g.claimsPending) {
    return {
      ...base,
      claimRetryMs: Math.min(CLAIM_RETRY_MAX_MS, g.claimRetryMs * 2),
      requeue: { requeueAfter: g.claimRetryMs, reason: 'ClaimsNotReady' },
    };
  }
  return {
    ...base,
    claimRetryMs: g.claimRetryMs,
    requeue: { requeueAfter: VOLUME_RETRY_MS, reason: 'VolumesNotReady' },
  };
}

/**
 * kubelet: a pod other than a host-network one gets no sandbox while the network plugin is
 * not ready (`notReady` says why); the sync comes back soon. Undefined: go ahead.
 */
export function gateOnNetwork(
  pod: PlanPod,
  notReady: string | undefined,
): { message: string; requeue: SyncResult } | undefined {
  if (pod.spec.hostNetwork || !notReady) return undefined;
  return {
    message: `network is not ready: ${notReady}`,
    requeue: { requeueAfter: NETWORK_RETRY_MS, reason: 'NetworkNotReady' },
  };
}

/** kubelet's CrashLoopBackOff wait: come back when the first backing-off container may restart */
export function backOffRequeue(
  uid: string,
  backingOff: Record<string, string>,
  observed: RuntimeContainer[],
  backoff: BackOff,
  nowMs: number,
): SyncResult | undefined {
  const first = Object.keys(backingOff)[0];
  if (first === undefined) return undefined;
  const latest = latestPerName(observed).get(first)?.[0];
  const finished = Date.parse(latest?.finishedAt ?? '') || nowMs;
  return {
    requeueAfter: Math.max(200, backoff.remainingMs(`${uid}/${first}`, finished, nowMs) + 50),
    reason: 'CrashLoopBackOff',
  };
}
