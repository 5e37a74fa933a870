// Filter NodePorts: a pod asking for host ports fits only where no pod already holds
// the same protocol/port on an overlapping host IP (0.0.0.0 overlaps every IP).
import type { KubeObject } from '../../../proto/meta.js';
import { FITS, unschedulable, type FilterPlugin } from '../framework.js';

export const ERR_REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";

interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export function hostPorts(pod: KubeObject): HostPort[] {
  const out: HostPort[] = [];
  const containers = Array.isArray(pod.spec?.containers) ? pod.spec.containers : [];
  for (const c of containers) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) {
      if (typeof p?.hostPort === 'number' && p.hostPort > 0) {
        out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
      }
    }
  }
  return out;
}

function conflicts(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0');
}

export const nodePorts: FilterPlugin = {
  name: 'NodePorts',
  filter(_ctx, pod, nodeInfo) {
    const want = hostPorts(pod);
    if (!want.length) return FITS;
    for (const other of nodeInfo.pods) {
      for (const used of hostPorts(other)) {
        if (want.some((w) => conflicts(w, used))) return unschedulable(ERR_REASON_PORTS);
      }
    }
    return FITS;
  },
};
