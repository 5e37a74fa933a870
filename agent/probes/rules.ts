// The pure rules of kubelet's prober (pkg/kubelet/prober worker.go, prober_manager.go):
// threshold counting, which probe may run given the container's start state, the
// started/ready flags of a container status, and which failure restarts a container.
import type { ContainerProbeResults, Probe, ProbeResult, ProbeType } from './types.js';

export const DEFAULT_PERIOD_SECONDS = 10;
export const DEFAULT_TIMEOUT_SECONDS = 1;
export const DEFAULT_FAILURE_THRESHOLD = 3;
export const DEFAULT_SUCCESS_THRESHOLD = 1;

/** kubelet's worker initialValue: readiness fails until it succeeds, liveness passes until it fails, startup is unknown */
export function initialResult(type: ProbeType): ProbeResult | undefined {
  return type === 'readiness' ? 'failure' : type === 'liveness' ? 'success' : undefined;
}

export interface ThresholdState {
  lastResult?: ProbeResult;
  /** how many times in a row lastResult came back */
  run: number;
  /** a liveness/startup failure was reported: no more probing of this container */
  onHold: boolean;
}

export const FRESH: ThresholdState = { run: 0, onHold: false };

/**
 * kubelet worker.doProbe after one probe: a result only counts once it came back
 * successThreshold / failureThreshold times in a row; a liveness or startup failure
 * puts the worker on hold (the container is going to be killed).
 */
export function countResult(
  state: ThresholdState,
  result: ProbeResult,
  type: ProbeType,
  probe: Probe,
): { state: ThresholdState; set?: ProbeResult } {
  const run = state.lastResult === result ? state.run + 1 : 1;
  const failureThreshold = probe.failureThreshold || DEFAULT_FAILURE_THRESHOLD;
  const successThreshold = probe.successThreshold || DEFAULT_SUCCESS_THRESHOLD;
  if ((result === 'failure' && run < failureThreshold) || (result === 'success' && run < successThreshold)) {
    return { state: { lastResult: result, run, onHold: false } };
  }
  if (type !== 'readiness' && result === 'failure')
    return { state: { lastResult: result, run: 0, onHold: true }, set: result };
  return { state: { lastResult: result, run, onHold: false }, set: result };
}

export type ProbeGate =
  | { action: 'probe' }
  /** still inside initialDelaySeconds: look again in ms */
  | { action: 'wait'; ms: number }
  /** not this probe's turn (startup not passed yet / already passed, or on hold) */
  | { action: 'skip' };

/**
 * kubelet worker.doProbe before probing: on hold -> nothing; initialDelaySeconds since
 * the container started; the startup probe runs until the container has started and
 * liveness/readiness only after.
 */
export function probeGate(
  type: ProbeType,
  i: { onHold: boolean; sinceStartMs: number; initialDelaySeconds?: number; started: boolean },
): ProbeGate {
  if (i.onHold) return { action: 'skip' };
  const delayMs = (i.initialDelaySeconds ?? 0) * 1000;
  if (i.sinceStartMs < delayMs) return { action: 'wait', ms: delayMs - i.sinceStartMs };
  if (type === 'startup' ? i.started : !i.started) return { action: 'skip' };
  return { action: 'probe' };
}

/**
 * kubelet prober_manager UpdatePodStatus: a running container has started once its
 * startup probe succeeded (or it has none); it is ready once started and its readiness
 * probe succeeded (or it has none).
 */
export function containerProbeStatus(i: {
  running: boolean;
  hasStartupProbe: boolean;
  hasReadinessProbe: boolean;
  results?: ContainerProbeResults;
}): { started: boolean; ready: boolean } {
  if (!i.running) return { started: false, ready: false };
  const started = i.hasStartupProbe ? i.results?.startup === 'success' : true;
  if (!started) return { started, ready: false };
  return { started, ready: i.hasReadinessProbe ? i.results?.readiness === 'success' : true };
}

/** kuberuntime computePodActions: a failed liveness (first) or startup probe kills the container */
export function failedProbe(results: ContainerProbeResults | undefined): 'liveness' | 'startup' | undefined {
  if (results?.liveness === 'failure') return 'liveness';
  if (results?.startup === 'failure') return 'startup';
  return undefined;
}
