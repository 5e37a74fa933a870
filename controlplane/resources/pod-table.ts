// The Pod row of `kubectl get pods`, a line-by-line port of printPod in
// pkg/printers/internalversion/printers.go (v1.32): READY counts, the STATUS reason
// (Init:N/M, CrashLoopBackOff, Completed, Terminating, ...) and RESTARTS "2 (5m ago)".
import type { KubeObject } from '../../proto/meta.js';
import { isConditionTrue } from '../../proto/api/conditions.js';
import type {
  Container,
  ContainerStateTerminated,
  ContainerStatus,
  PodCondition,
  PodIP,
  PodReadinessGate,
  PodSpec,
  PodStatus,
} from '../../proto/api/types.gen.js';
import { ageOf, parseTime, since } from './age.js';
import { col, nameColumn, ageColumn } from './columns.js';
import type { Decoded } from './meta-validation.js';
import type { TableColumn } from './types.js';

export const podColumns: TableColumn[] = [
  nameColumn(),
  col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
  col('Status', 'string', 'The aggregate status of the containers in this pod.'),
  col(
    'Restarts',
    'string',
    'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
  ),
  ageColumn(),
  col(
    'IP',
    'string',
    'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
    1,
  ),
  col('Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1),
  col(
    'Nominated Node',
    'string',
    'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.',
    1,
  ),
  col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
];

/** a list entry as stored: its generated type, though any field may be null or missing */
type Entry<T> = Decoded<T> | null | undefined;

const isRestartableInit = (c: Entry<Container>): boolean => c?.restartPolicy === 'Always';

/** Later of the running "last restart" and a container's lastState.terminated.finishedAt. */
function laterFinish(current: number | undefined, cs: Entry<ContainerStatus>): number | undefined {
  const t = parseTime(cs?.lastState?.terminated?.finishedAt);
  if (t === undefined) return current;
  return current === undefined || current < t ? t : current;
}

function terminatedReason(t: Decoded<ContainerStateTerminated>, prefix: string): string {
  if (t.reason) return prefix + t.reason;
  if (t.signal) return `${prefix}Signal:${t.signal}`;
  return `${prefix}ExitCode:${t.exitCode ?? 0}`;
}

export function podRow(pod: KubeObject, now: number): unknown[] {
  // a stored Pod: its spec and status as the decoder passed them
  const spec: Decoded<PodSpec> = pod.spec ?? {};
  const status: Decoded<PodStatus> = pod.status ?? {};
  const containers: Entry<Container>[] = Array.isArray(spec.containers) ? spec.containers : [];
  const initContainers: Entry<Container>[] = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  const initStatuses: Entry<ContainerStatus>[] = Array.isArray(status.initContainerStatuses)
    ? status.initContainerStatuses
    : [];
  const statuses: Entry<ContainerStatus>[] = Array.isArray(status.containerStatuses) ? status.containerStatuses : [];

  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = containers.length;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastRestartableInitRestart: number | undefined;

  let reason: string = status.phase ?? '';
  if (status.reason) reason = status.reason;
  const conditions: Entry<PodCondition>[] = Array.isArray(status.conditions) ? status.conditions : [];
  for (const c of conditions) {
    if (c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initByName = new Map<string | null | undefined, Entry<Container>>();
  for (const c of initContainers) {
    initByName.set(c?.name, c);
    if (isRestartableInit(c)) totalContainers++;
  }

  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    restarts += cs?.restartCount ?? 0;
    lastRestart = laterFinish(lastRestart, cs);
    const restartable = isRestartableInit(initByName.get(cs?.name));
    if (restartable) {
      restartableInitRestarts += cs?.restartCount ?? 0;
      lastRestartableInitRestart = laterFinish(lastRestartableInitRestart, cs);
    }
    const term = cs?.state?.terminated;
    const waiting = cs?.state?.waiting;
    if (term && (term.exitCode ?? 0) === 0) continue;
    if (restartable && cs?.started === true) {
      if (cs?.ready) readyContainers++;
      continue;
    }
    if (term) reason = terminatedReason(term, 'Init:');
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = 'Init:' + waiting.reason;
    else reason = `Init:${i}/${initContainers.length}`;
    initializing = true;
    break;
  }

  if (!initializing || isConditionTrue(status?.conditions, 'Initialized')) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += cs?.restartCount ?? 0;
      lastRestart = laterFinish(lastRestart, cs);
      const waiting = cs?.state?.waiting;
      const term = cs?.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (term) reason = terminatedReason(term, '');
      else if (cs?.ready && cs?.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed but another still runs is Running (or NotReady).
    if (reason === 'Completed' && hasRunning)
      reason = isConditionTrue(status?.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = !!pod.metadata?.deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';

  const restartsCell =
    restarts !== 0 && lastRestart !== undefined
      ? `${restarts} (${since(new Date(lastRestart).toISOString(), now)} ago)`
      : String(restarts);

  const podIPs: Entry<PodIP>[] = Array.isArray(status.podIPs) ? status.podIPs : [];
  const podIP = podIPs[0]?.ip || status.podIP || '<none>';
  const gates: Entry<PodReadinessGate>[] = Array.isArray(spec.readinessGates) ? spec.readinessGates : [];
  let readinessGates = '<none>';
  if (gates.length > 0) {
    const ok = gates.filter((g) => conditions.find((c) => c?.type === g?.conditionType)?.status === 'True').length;
    readinessGates = `${ok}/${gates.length}`;
  }

  return [
    pod.metadata?.name ?? '',
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsCell,
    ageOf(pod, now),
    podIP,
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    readinessGates,
  ];
}
