// Labels on every sandbox and container, as kubelet's dockershim set them (so cAdvisor and
// Prometheus' Docker discovery recognise pods), plus skiff's own. The labels are the only
// state the agent keeps in Docker: a restarted agent re-adopts containers from them.

import { createHash } from 'node:crypto';
import { canonicalJson } from '../../proto/canonical.js';
import type { Container } from '../../proto/api/types.gen.js';

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
export const LABEL_DOCKER_TYPE = 'io.kubernetes.docker.type';
export const LABEL_SANDBOX_ID = 'io.kubernetes.sandbox.id';
export const LABEL_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const LABEL_TERMINATION_GRACE = 'io.kubernetes.pod.terminationGracePeriod';
export const LABEL_NODE = 'io.skiff.node';
export const LABEL_CONTAINER_HASH = 'io.skiff.container.hash';
/** Sandbox: the Docker network it joined ("host" for hostNetwork), to find its IP again. */
export const LABEL_NETWORK = 'io.skiff.network';
/** Sandbox: its own attempt number. */
export const LABEL_SANDBOX_ATTEMPT = 'io.skiff.sandbox.attempt';
/**
 * Sandbox made ahead of its pod for the node's pool (--sandbox-pool): the node's name. It
 * carries no pod labels (Docker cannot add them later): once a pod adopted it, its name
 * (k8s_POD_<pod>_<ns>_<uid>_<attempt>) says whose it is.
 */
export const LABEL_POOL = 'io.skiff.sandbox.pool';

export const DOCKER_TYPE_SANDBOX = 'podsandbox';
export const DOCKER_TYPE_CONTAINER = 'container';
export const SANDBOX_CONTAINER_NAME = 'POD';

/**
 * Hash of a container spec, stored as a label so the pod worker sees spec changes (as
 * kubelet's io.kubernetes.container.hash). Key order does not matter.
 */
export function containerHash(container: Container): string {
  return createHash('sha256').update(canonicalJson(container)).digest('hex').slice(0, 16);
}

export function nodeLabelFilter(node: string): string {
  return `${LABEL_NODE}=${node}`;
}
