// Docker container names for sandboxes and containers, as kubelet's dockershim built them:
// k8s_<container>_<pod>_<namespace>_<uid>_<attempt>, "POD" for the sandbox. The labels are
// authoritative; names only need to be unique and readable in `docker ps`. Also the pod's
// own names the runtime needs: its identity and its hostname.

import type { Pod } from '../../proto/api/types.gen.js';
import { RuntimeError } from './errors.js';
import { SANDBOX_CONTAINER_NAME } from './labels.js';

const PREFIX = 'k8s';

export function sandboxName(pod: string, namespace: string, uid: string, attempt: number): string {
  return [PREFIX, SANDBOX_CONTAINER_NAME, pod, namespace, uid, String(attempt)].join('_');
}

export function containerName(container: string, pod: string, namespace: string, uid: string, attempt: number): string {
  return [PREFIX, container, pod, namespace, uid, String(attempt)].join('_');
}

/** A pooled sandbox before a pod adopts it: not a k8s_ name, so parseName leaves it alone. */
export function pooledSandboxName(node: string, suffix: string): string {
  return `skiff-pool_${node}_${suffix}`;
}

export interface ParsedName {
  containerName: string;
  podName: string;
  namespace: string;
  podUid: string;
  attempt: number;
}

/** Inverse of the above (Kubernetes names contain no "_"); undefined when not ours. */
export function parseName(name: string): ParsedName | undefined {
  const parts = name.replace(/^\//, '').split('_');
  // dockershim tolerated a trailing random suffix from name-conflict recovery.
  if ((parts.length !== 6 && parts.length !== 7) || parts[0] !== PREFIX) return undefined;
  const attempt = Number(parts[5]);
  if (!Number.isInteger(attempt)) return undefined;
  return { containerName: parts[1], podName: parts[2], namespace: parts[3], podUid: parts[4], attempt };
}

export interface PodIdentity {
  name: string;
  namespace: string;
  uid: string;
}

/** The pod's name, namespace ("default" when unset) and uid; InvalidArgument without name or uid. */
export function podIdentity(pod: Pod): PodIdentity {
  const { name, namespace, uid } = pod.metadata ?? {};
  if (typeof name !== 'string' || !name || typeof uid !== 'string' || !uid) {
    throw new RuntimeError('InvalidArgument', 'pod needs metadata.name and metadata.uid');
  }
  return { name, namespace: typeof namespace === 'string' && namespace ? namespace : 'default', uid };
}

/** spec.hostname or the pod's name; kubelet truncates it to 63 characters and trims trailing '-' and '.'. */
export function podHostname(pod: Pod, podName: string): string {
  const h = (typeof pod.spec?.hostname === 'string' && pod.spec.hostname) || podName;
  return h.length > 63 ? h.slice(0, 63).replace(/[-.]+$/, '') : h;
}
