// May this pod take a sandbox from the node's pool (--sandbox-pool)? A pooled sandbox was
// made before its pod was known: on the pod network, with the pool's hostname and no
// pod-specific settings. Only what can be set afterwards is set (its hostname, hosts and
// resolv.conf files and its name); a pod that needs anything Docker fixes when a sandbox
// is created gets a fresh one. Pure.

/** The slice of a pod this reads (Kubernetes field names; a full Pod fits). */
export interface PoolPod {
  spec?: {
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    hostname?: string;
    subdomain?: string;
    setHostnameAsFQDN?: boolean;
    hostAliases?: unknown[] | null;
    securityContext?: { sysctls?: unknown[] | null } | null;
    containers?: Array<{ name: string; ports?: Array<{ hostPort?: number }> | null }> | null;
    initContainers?: Array<{ name: string; ports?: Array<{ hostPort?: number }> | null }> | null;
    volumes?: Array<{ name: string; emptyDir?: { medium?: string } | null } | null> | null;
  } | null;
}

/** Why the pod needs a sandbox of its own, or undefined when it may adopt a pooled one. */
export function poolIneligibility(pod: PoolPod): string | undefined {
  const spec = pod.spec ?? {};
  // the host's namespaces: no pod network at all
  if (spec.hostNetwork) return 'hostNetwork';
  if (spec.hostPID) return 'hostPID';
  if (spec.hostIPC) return 'hostIPC';
  // port bindings and sysctls are the sandbox's creation-time settings
  const ports = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].flatMap((c) => c?.ports ?? []);
  if (ports.some((p) => p?.hostPort)) return 'hostPort';
  if (spec.securityContext?.sysctls?.length) return 'sysctls';
  // memory-backed emptyDirs are mounted in the sandbox when it is made
  if ((spec.volumes ?? []).some((v) => v?.emptyDir?.medium === 'Memory')) return 'emptyDir medium Memory';
  if (spec.hostAliases?.length) return 'hostAliases';
  // a name asked for explicitly is an identity (StatefulSets): the pod's containers must see
  // it as their kernel hostname too, which only a sandbox made with it gives
  if (spec.hostname || spec.subdomain || spec.setHostnameAsFQDN) return 'hostname';
  return undefined;
}
