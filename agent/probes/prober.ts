// Run one probe once (kubelet's prober.runProbe): exec in the container, httpGet or
// tcpSocket to the pod IP. A failure carries the output users see in the Unhealthy
// event; an error (the probe could not run at all) is thrown away by the worker.
import type { Runtime } from '../runtime/types.js';
import { execInContainer } from './exec.js';
import { buildHttpGetRequest, httpGet, resolvePort } from './http.js';
import { DEFAULT_TIMEOUT_SECONDS } from './rules.js';
import { tcpProbe } from './tcp.js';
import type { Probe, ProbeResult, ProbedContainer } from './types.js';

export interface ProbeTarget {
  runtime: Runtime;
  containerId: string;
  container: ProbedContainer;
  podIP?: string;
}

export type ProbeOutcome = { result: ProbeResult; output: string } | { error: string };

export type Prober = (probe: Probe, target: ProbeTarget) => Promise<ProbeOutcome>;

export const runProbe: Prober = async (probe, t) => {
  const timeoutMs = (probe.timeoutSeconds || DEFAULT_TIMEOUT_SECONDS) * 1000;
  try {
    if (probe.exec) {
      const cmd = probe.exec.command ?? [];
      const r = await execInContainer(t.runtime, t.containerId, cmd, timeoutMs);
      // kubelet (ExecProbeTimeout): a timed-out command is a failure with this message
      if (r.timedOut) return { result: 'failure', output: `command "${cmd.join(' ')}" timed out` };
      return { result: r.exitCode === 0 ? 'success' : 'failure', output: r.output };
    }
    if (probe.httpGet) {
      const req = buildHttpGetRequest(probe.httpGet, t.container, t.podIP);
      try {
        const res = await httpGet(req, timeoutMs);
        if (res.status >= 200 && res.status < 400) return { result: 'success', output: res.body };
        return { result: 'failure', output: `HTTP probe failed with statuscode: ${res.status}` };
      } catch (err) {
        return { result: 'failure', output: (err as Error).message };
      }
    }
    if (probe.tcpSocket) {
      const host = probe.tcpSocket.host || t.podIP;
      if (!host) return { error: 'pod has no IP yet' };
      return await tcpProbe(host, resolvePort(probe.tcpSocket.port, t.container), timeoutMs);
    }
    if (probe.grpc) return { error: 'grpc probes are not supported by skiff' };
    return { error: 'missing probe handler' };
  } catch (err) {
    return { error: (err as Error).message };
  }
};
