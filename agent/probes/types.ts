// What probes and lifecycle hooks are made of (Kubernetes field names, v1.Probe and
// v1.LifecycleHandler), the three probe results and the injected clock. No I/O here.

export interface ExecAction {
  command?: string[] | null;
}
export interface HTTPHeader {
  name: string;
  value: string;
}
export interface HTTPGetAction {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: HTTPHeader[] | null;
}
export interface TCPSocketAction {
  port: number | string;
  host?: string;
}
export interface SleepAction {
  seconds: number;
}

export interface Handler {
  exec?: ExecAction | null;
  httpGet?: HTTPGetAction | null;
  tcpSocket?: TCPSocketAction | null;
  sleep?: SleepAction | null;
  grpc?: unknown;
}

export interface Probe extends Handler {
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number | null;
}

export interface ProbedContainer {
  name: string;
  ports?: { name?: string; containerPort: number }[] | null;
  livenessProbe?: Probe | null;
  readinessProbe?: Probe | null;
  startupProbe?: Probe | null;
  lifecycle?: { postStart?: Handler | null; preStop?: Handler | null } | null;
}

export type ProbeType = 'startup' | 'liveness' | 'readiness';
export const PROBE_TYPES: readonly ProbeType[] = ['startup', 'liveness', 'readiness'];

/** kubelet's results.Result; Unknown is "no entry" */
export type ProbeResult = 'success' | 'failure';

/** the latest result of each probe of one container (by container id) */
export interface ContainerProbeResults {
  startup?: ProbeResult;
  liveness?: ProbeResult;
  readiness?: ProbeResult;
}

export function probeOf(c: ProbedContainer, type: ProbeType): Probe | undefined {
  return c[`${type}Probe`] ?? undefined;
}

/** "Liveness", as kubelet prints probe types in events */
export function probeTypeName(type: ProbeType): string {
  return type[0]!.toUpperCase() + type.slice(1);
}

/** Time is injected: probe workers are tested without sleeping. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
