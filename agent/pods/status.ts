// Pod status from what the runtime shows, as kubelet's generateAPIPodStatus and
// getPhase compute it: container states (running / terminated with Completed, Error,
// OOMKilled / waiting with ContainerCreating, CrashLoopBackOff, ErrImagePull...),
// restart counts, phase, the Initialized/ContainersReady/Ready conditions and IPs.
// Probe results decide `started` (startup probe) and `ready` (readiness probe).
import type { RuntimeContainer } from '../runtime/types.js';
import { byAttemptDesc, latestPerName, type PlanPod } from './plan.js';
import { containerProbeStatus } from '../probes/rules.js';
import type { ContainerProbeResults } from '../probes/types.js';
import type {
  ContainerState,
  ContainerStateTerminated,
  ContainerStatus,
  HostIP,
  PodCondition,
  PodIP,
  PodStatus,
} from '../../proto/api/types.gen.js';

export interface Waiting {
  reason: string;
  message?: string;
}

/** ContainerStateTerminated as kubelet sends it: times it does not know are null */
type Terminated = Omit<ContainerStateTerminated, 'startedAt' | 'finishedAt'> & {
  startedAt: string | null;
  finishedAt: string | null;
};
/** ContainerState as kubelet sends it */
type State = Omit<ContainerState, 'terminated'> & { terminated?: Terminated };
/** ContainerStatus as kubelet sends it: state and lastState always there */
type ComputedContainerStatus = Omit<ContainerStatus, 'state' | 'lastState'> & { state: State; lastState: State };
/** PodCondition as kubelet sends it: lastProbeTime null */
type ComputedCondition = Omit<PodCondition, 'lastProbeTime'> & { lastProbeTime: null };

/** the pod status kubelet reports (generateAPIPodStatus) */
export type ComputedPodStatus = Omit<PodStatus, 'conditions' | 'containerStatuses' | 'initContainerStatuses'> & {
  phase: string;
  conditions: ComputedCondition[];
  hostIP: string;
  hostIPs: HostIP[];
  startTime: string;
  containerStatuses: ComputedContainerStatus[];
  initContainerStatuses?: ComputedContainerStatus[];
};

/** what a new status keeps of the previous one */
export interface PreviousStatus {
  conditions?: ReadonlyArray<Pick<PodCondition, 'type' | 'status' | 'lastTransitionTime'>>;
  podIP?: string;
  podIPs?: PodIP[];
}

type StatusContainer = { name: string; image?: string; startupProbe?: unknown; readinessProbe?: unknown };

export interface StatusInput {
  pod: PlanPod & { spec: { containers: StatusContainer[]; initContainers?: StatusContainer[] | null } };
  observed: RuntimeContainer[];
  hostIP: string;
  /** why a container is not running yet, by container name (pull errors, back-off, config errors) */
  waiting: Record<string, Waiting>;
  startTime: string;
  qosClass?: string;
  now: string;
  /** previous status, for lastTransitionTime of unchanged conditions */
  previous?: PreviousStatus;
  /** probe results of running containers, by container id (ProbeManager.snapshot) */
  probes?: Record<string, ContainerProbeResults>;
}

/** defaultWaiting: kubelet's PodInitializing for every container of a pod with init containers, else ContainerCreating */
function state(c: RuntimeContainer | undefined, waiting: Waiting | undefined, defaultWaiting: string): State {
  if (c?.state === 'running') return { running: { startedAt: c.startedAt } };
  if (waiting) return { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
  if (!c || c.state !== 'exited') return { waiting: { reason: defaultWaiting } };
  return { terminated: terminated(c) };
}

function terminated(c: RuntimeContainer): Terminated {
  const exitCode = c.exitCode ?? 0;
  const reason = c.oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
  const t: Terminated = {
    exitCode,
    reason,
    startedAt: c.startedAt ?? null,
    finishedAt: c.finishedAt ?? null,
    containerID: `docker://${c.id}`,
  };
  if (c.error) t.message = c.error;
  return t;
}

function containerStatus(
  spec: StatusContainer,
  list: RuntimeContainer[] | undefined,
  waiting: Waiting | undefined,
  init: boolean,
  probes: Record<string, ContainerProbeResults> | undefined,
  defaultWaiting: string,
): ComputedContainerStatus {
  const latest = list?.[0];
  const st = state(latest, waiting, defaultWaiting);
  // waiting to restart: the last run is the latest container; otherwise the attempt before it
  const prev =
    'waiting' in st && latest?.state === 'exited' ? latest : list?.find((c, i) => i > 0 && c.state === 'exited');
  const running = 'running' in st;
  const probed = containerProbeStatus({
    running,
    hasStartupProbe: !init && !!spec.startupProbe,
    hasReadinessProbe: !init && !!spec.readinessProbe,
    results: latest ? probes?.[latest.id] : undefined,
  });
  const s: ComputedContainerStatus = {
    name: spec.name,
    state: st,
    lastState: prev ? { terminated: terminated(prev) } : {},
    ready: init ? latest?.state === 'exited' && latest.exitCode === 0 : probed.ready,
    restartCount: latest ? latest.attempt : 0,
    image: spec.image ?? latest?.image ?? '',
    imageID: latest?.imageID ?? '',
    started: init ? running : probed.started,
  };
  if (latest) s.containerID = `docker://${latest.id}`;
  return s;
}

function condition(
  type: string,
  ok: boolean,
  previous: PreviousStatus | undefined,
  now: string,
  reason?: string,
): ComputedCondition {
  const prev = previous?.conditions?.find((c) => c.type === type);
  const status = ok ? 'True' : 'False';
  const c: ComputedCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
  };
  if (!ok && reason) c.reason = reason;
  return c;
}

export function computePodStatus(i: StatusInput): ComputedPodStatus {
  const { pod, observed } = i;
  const byName = latestPerName(observed);
  const sandbox = observed
    .filter((c) => c.type === 'sandbox')
    .sort(byAttemptDesc)
    .find((s) => s.state === 'running');
  const initSpecs = pod.spec.initContainers ?? [];
  const defaultWaiting = initSpecs.length ? 'PodInitializing' : 'ContainerCreating';
  const initStatuses = initSpecs.map((c) =>
    containerStatus(c, byName.get(c.name), i.waiting[c.name], true, i.probes, defaultWaiting),
  );
  const statuses = pod.spec.containers.map((c) =>
    containerStatus(c, byName.get(c.name), i.waiting[c.name], false, i.probes, defaultWaiting),
  );
  const initialized = initStatuses.every((s) => s.ready);
  const allReady = statuses.every((s) => s.ready);
  const policy = pod.spec.restartPolicy ?? 'Always';

  // kubelet getPhase
  let phase: string;
  const initFailed =
    initSpecs.some((c) => {
      const l = byName.get(c.name)?.[0];
      return l?.state === 'exited' && (l.exitCode ?? 0) !== 0;
    }) && policy === 'Never';
  if (initFailed) phase = 'Failed';
  else if (!initialized) phase = 'Pending';
  else {
    let running = 0,
      waiting = 0,
      stopped = 0,
      succeeded = 0;
    for (const c of pod.spec.containers) {
      const l = byName.get(c.name)?.[0];
      if (!l || l.state === 'created' || (i.waiting[c.name] && l.state !== 'exited')) {
        waiting++;
        continue;
      }
      if (l.state === 'running') running++;
      else if (l.state === 'exited') {
        stopped++;
        if ((l.exitCode ?? 0) === 0) succeeded++;
      } else waiting++;
    }
    if (waiting > 0 && running === 0 && stopped === 0) phase = 'Pending';
    else if (running > 0 || waiting > 0) phase = 'Running';
    else if (stopped === pod.spec.containers.length) {
      if (policy === 'Always') phase = 'Running';
      else if (succeeded === stopped) phase = 'Succeeded';
      else phase = policy === 'OnFailure' ? 'Running' : 'Failed';
    } else phase = 'Pending';
  }
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const ready = allReady && initialized && !terminal;
  const conditions = [
    condition('PodReadyToStartContainers', !!sandbox, i.previous, i.now),
    condition('Initialized', initialized, i.previous, i.now, 'ContainersNotInitialized'),
    condition('Ready', ready, i.previous, i.now, terminal ? 'PodCompleted' : 'ContainersNotReady'),
    condition('ContainersReady', ready, i.previous, i.now, terminal ? 'PodCompleted' : 'ContainersNotReady'),
  ];
  for (const c of conditions) {
    if (c.status === 'False' && c.reason === 'ContainersNotReady') {
      const notReady = statuses.filter((s) => !s.ready).map((s) => s.name);
      c.message = `containers with unready status: [${notReady.join(' ')}]`;
    } else if (c.status === 'False' && c.reason === 'ContainersNotInitialized') {
      c.message = `containers with incomplete status: [${initStatuses
        .filter((s) => !s.ready)
        .map((s) => s.name)
        .join(' ')}]`;
    }
  }
  const podIP = sandbox ? (sandbox.ip ?? (pod.spec.hostNetwork ? i.hostIP : undefined)) : undefined;
  const status: ComputedPodStatus = {
    phase,
    conditions,
    hostIP: i.hostIP,
    hostIPs: [{ ip: i.hostIP }],
    startTime: i.startTime,
    containerStatuses: statuses,
  };
  if (initSpecs.length) status.initContainerStatuses = initStatuses;
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  } else if (i.previous?.podIP && !terminal) {
    status.podIP = i.previous.podIP;
    status.podIPs = i.previous.podIPs;
  }
  if (i.qosClass) status.qosClass = i.qosClass;
  return status;
}
