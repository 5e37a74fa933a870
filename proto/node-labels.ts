// Which labels a node's agent may set on its own Node: Kubernetes' NodeRestriction rules
// (plugin/pkg/admission/noderestriction getForbiddenLabels, and IsKubeletLabel of
// k8s.io/kubelet/pkg/apis/well_known_labels.go). Outside the kubernetes.io and k8s.io
// namespaces anything goes; inside them only the well-known kubelet labels and the
// [*.]kubelet.kubernetes.io/ and [*.]node.kubernetes.io/ namespaces; never
// [*.]node-restriction.kubernetes.io/ (node-role.kubernetes.io/ is simply not allowed).
// skiff adds one rule: kubernetes.io/hostname, when set, must be the node's own name
// (pods pinned to another node by hostname must never land here).
// Shared by the server (register) and the agent (--node-labels at start-up). No I/O.

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

/** the specifically allowed keys (kubeletapis.KubeletLabels()), sorted as kubelet prints them */
export const KUBELET_LABELS: readonly string[] = [
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/instance-type',
  'beta.kubernetes.io/os',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'kubernetes.io/arch',
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'node.kubernetes.io/instance-type',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
];
/** the allowed namespaces, with any subdomain (kubeletapis.KubeletLabelNamespaces()) */
export const KUBELET_LABEL_NAMESPACES: readonly string[] = ['kubelet.kubernetes.io', 'node.kubernetes.io'];
const NODE_RESTRICTION_NAMESPACE = 'node-restriction.kubernetes.io';
const kubeletLabels = new Set(KUBELET_LABELS);

function labelNamespace(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

function inNamespace(ns: string, domain: string): boolean {
  return ns === domain || ns.endsWith(`.${domain}`);
}

/** isKubernetesLabel: the key's prefix is [*.]kubernetes.io or [*.]k8s.io */
export function isKubernetesLabel(key: string): boolean {
  const ns = labelNamespace(key);
  return inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
}

/** kubeletapis.IsKubeletLabel */
export function isKubeletLabel(key: string): boolean {
  if (kubeletLabels.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(ns, allowed));
}

/**
 * The keys of `labels` a node named `nodeName` may not set on itself, sorted; empty when
 * all are allowed.
 */
export function forbiddenNodeLabels(labels: Readonly<Record<string, string>>, nodeName: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const ns = labelNamespace(key);
    if (inNamespace(ns, NODE_RESTRICTION_NAMESPACE)) out.push(key);
    else if (isKubernetesLabel(key) && !isKubeletLabel(key)) out.push(key);
    else if (key === LABEL_HOSTNAME && value !== nodeName) out.push(key);
  }
  return out.sort();
}

/** the error for forbidden labels, in kubelet's words for --node-labels; undefined when none */
export function nodeLabelsError(labels: Readonly<Record<string, string>>, nodeName: string): string | undefined {
  const bad = forbiddenNodeLabels(labels, nodeName);
  if (bad.length === 0) return undefined;
  const hostname = bad.includes(LABEL_HOSTNAME) ? `${LABEL_HOSTNAME} must be the node's own name "${nodeName}"; ` : '';
  const unknown = bad.filter((k) => k !== LABEL_HOSTNAME);
  return (
    hostname +
    (unknown.length === 0
      ? ''
      : `unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [${unknown.join(' ')}]; ` +
        `--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (${KUBELET_LABEL_NAMESPACES.join(', ')}) ` +
        `or be in the specifically allowed set (${KUBELET_LABELS.join(', ')})`
    ).replace(/; $/, '')
  );
}
