// A container's environment as kubelet builds it: env values with $(VAR) expansion
// against earlier entries, and valueFrom.fieldRef / resourceFieldRef from the pod.
// configMapKeyRef/secretKeyRef/envFrom need API reads the agent does not do yet:
// they fail as CreateContainerConfigError with a clear message.
import type { KubeObject } from '../../proto/meta.js';
import { cpuToMillicores, memoryToBytes, parseQuantity } from '../../proto/quantity.js';
import { expandVars } from '../runtime/command.js';

export interface EnvContext { podIP: string; hostIP: string; nodeName: string }

function fieldRef(pod: KubeObject, path: string, ctx: EnvContext): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] as Record<string, string> | undefined)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata.name ?? '';
    case 'metadata.namespace': return pod.metadata.namespace ?? '';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    case 'spec.nodeName': return ctx.nodeName;
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return ctx.podIP;
    case 'status.podIPs': return ctx.podIP;
    case 'status.hostIP': return ctx.hostIP;
    case 'status.hostIPs': return ctx.hostIP;
    default: throw new Error(`unsupported fieldRef ${path}`);
  }
}

function resourceFieldRef(container: any, ref: { resource: string; divisor?: string | number; containerName?: string }, pod: KubeObject): string {
  const target = ref.containerName ? pod.spec?.containers?.find((c: { name: string }) => c.name === ref.containerName) : container;
  const [kind, res] = ref.resource.split('.') as ['limits' | 'requests', string];
  const v = target?.resources?.[kind]?.[res];
  const divisor = ref.divisor !== undefined ? parseQuantity(ref.divisor) : 1;
  if (v === undefined) return '0';
  const n = res === 'cpu' ? cpuToMillicores(v) / 1000 : res === 'memory' ? memoryToBytes(v) : parseQuantity(v);
  return String(Math.ceil(n / divisor));
}

export function resolveEnv(pod: KubeObject, container: any, ctx: EnvContext): Record<string, string> {
  const env: Record<string, string> = {};
  if (container.envFrom?.length) throw new Error('envFrom (ConfigMap/Secret) is not supported by skiff-agent yet');
  for (const e of container.env ?? []) {
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) env[e.name] = fieldRef(pod, vf.fieldRef.fieldPath, ctx);
      else if (vf.resourceFieldRef) env[e.name] = resourceFieldRef(container, vf.resourceFieldRef, pod);
      else if (vf.configMapKeyRef || vf.secretKeyRef) throw new Error(`env ${e.name}: configMapKeyRef/secretKeyRef are not supported by skiff-agent yet`);
      else throw new Error(`env ${e.name}: unsupported valueFrom`);
    } else {
      env[e.name] = expandVars(String(e.value ?? ''), env);
    }
  }
  return env;
}
