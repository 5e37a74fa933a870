// Plan, then act (kubelet's kuberuntime_manager computePodActions): from a pod's spec
// and what the runtime shows, decide — purely — whether to kill the pod, create a
// sandbox, and which containers to start or kill. The pod worker carries it out.
import type { RuntimeContainer } from '../runtime/types.js';
import { containerHash } from '../runtime/labels.js';
import type { BackOff } from './backoff.js';
import { failedProbe } from '../probes/rules.js';
import type { ContainerProbeResults } from '../probes/types.js';

export interface PlanContainer { name: string; image?: string; [k: string]: unknown }

export interface PlanPod {
  metadata: { uid?: string; deletionTimestamp?: string; [k: string]: unknown };
  spec: { containers: PlanContainer[]; initContainers?: PlanContainer[] | null; restartPolicy?: string; [k: string]: unknown };
  status?: { phase?: string; [k: string]: unknown } | null;
}

export interface StartAction { name: string; attempt: number; init: boolean }
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
export function computePodActions(pod: PlanPod, observed: RuntimeContainer[], backoff: BackOff, nowMs: number, probes: Record<string, ContainerProbeResults> = {}): PodActions {
  const uid = pod.metadata.uid ?? '';
  const sandboxes = observed.filter((c) => c.type === 'sandbox').sort(byAttemptDesc);
  const running = sandboxes.find((s) => s.state === 'running');
  const byName = latestPerName(observed);
  const actions: PodActions = {
    killPod: false, createSandbox: false, sandboxAttempt: (sandboxes[0]?.attempt ?? -1) + 1,
    sandboxId: running?.id, start: [], kill: [], backingOff: {}, remove: [],
  };
  const policy = pod.spec.restartPolicy ?? 'Always';
  const phase = pod.status?.phase;

  // garbage: keep the two newest attempts of each container, and only the newest sandbox
  for (const list of byName.values()) for (const c of list.slice(2)) if (c.state !== 'running') actions.remove.push(c.id);
  for (const s of sandboxes.slice(1)) if (s.state !== 'running') actions.remove.push(s.id);

  if (pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') {
    actions.killPod = observed.some((c) => c.state === 'running' || c.state === 'created');
    return actions;
  }

  const initContainers = pod.spec.initContainers ?? [];
  if (!running) {
    // no live sandbox: (re)create it; every container starts again with it
    const everRan = sandboxes.length > 0;
    if (everRan && policy === 'Never' && initDone(initContainers, byName) && pod.spec.containers.every((c) => byName.get(c.name)?.length)) {
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
      if (backoff.inBackOff(key, Date.parse(latest.finishedAt ?? '') || nowMs, nowMs)) { actions.backingOff[ic.name] = `back-off ${Math.ceil(backoff.delayMs(key) / 1000)}s restarting failed container=${ic.name} pod=${uid}`; return actions; }
      actions.start.push({ name: ic.name, attempt: latest.attempt + 1, init: true });
      return actions;
    }
    actions.start.push({ name: ic.name, attempt: latest && !actions.createSandbox ? latest.attempt + 1 : (latest ? latest.attempt + 1 : 0), init: true });
    return actions;
  }

  for (const c of pod.spec.containers) {
    const latest = byName.get(c.name)?.[0];
    const key = `${uid}/${c.name}`;
    if (!latest) { actions.start.push({ name: c.name, attempt: 0, init: false }); continue; }
    if (actions.createSandbox) {
      if (latest.state === 'running') actions.kill.push({ id: latest.id, name: c.name, reason: 'pod sandbox changed, it will be killed and re-created' });
      actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      continue;
    }
    if (latest.state === 'running' || latest.state === 'created') {
      if (latest.hash && latest.hash !== containerHash(c as never)) {
        actions.kill.push({ id: latest.id, name: c.name, reason: `Container ${c.name} definition changed, will be restarted` });
        actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      } else if (latest.state === 'created') {
        actions.kill.push({ id: latest.id, name: c.name, reason: 'container was created but never started' });
        actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      } else {
        const failed = failedProbe(probes[latest.id]);
        if (!failed) continue;
        // kuberuntime computePodActions: "Container app failed liveness probe, will be restarted"
        const restart = policy !== 'Never';
        const kill: KillAction = { id: latest.id, name: c.name, reason: `Container ${c.name} failed ${failed} probe${restart ? ', will be restarted' : ''}` };
        const probeGrace = (c[`${failed}Probe`] as { terminationGracePeriodSeconds?: number | null } | undefined)?.terminationGracePeriodSeconds;
        if (typeof probeGrace === 'number') kill.gracePeriodSeconds = probeGrace;
        actions.kill.push(kill);
        if (!restart) continue;
        // kubelet's doBackOff looks at the previous exit of this container
        const prev = byName.get(c.name)?.find((x) => x.state === 'exited');
        if (prev && backoff.inBackOff(key, Date.parse(prev.finishedAt ?? '') || nowMs, nowMs)) {
          actions.backingOff[c.name] = `back-off ${Math.ceil(backoff.delayMs(key) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name ?? uid}_${pod.metadata.namespace ?? ''}(${uid})`;
          continue;
        }
        actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
      }
      continue;
    }
    // exited
    if (!shouldRestart(policy, latest)) continue;
    if (backoff.inBackOff(key, Date.parse(latest.finishedAt ?? '') || nowMs, nowMs)) {
      actions.backingOff[c.name] = `back-off ${Math.ceil(backoff.delayMs(key) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name ?? uid}_${pod.metadata.namespace ?? ''}(${uid})`;
      continue;
    }
    actions.start.push({ name: c.name, attempt: latest.attempt + 1, init: false });
  }
  return actions;
}

function initDone(init: PlanContainer[], byName: Map<string, RuntimeContainer[]>): boolean {
  return init.every((ic) => { const l = byName.get(ic.name)?.[0]; return l && l.state === 'exited' && l.exitCode === 0; });
}
