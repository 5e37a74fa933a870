// NodeAffinity: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution
// node selector terms must match (filter); matching preferred terms add their weights
// (score). Semantics of component-helpers scheduling/corev1/nodeaffinity: terms are ORed,
// requirements in a term ANDed, an empty or invalid term matches nothing.
import type { KubeObject } from '../../../proto/meta.js';
import { defaultNormalizeScore, FITS, unresolvable, type FilterPlugin, type ScorePlugin } from '../framework.js';

export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

interface Term {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}

const INT64 = /^[+-]?[0-9]+$/;

function parseInt64(s: string): bigint | undefined {
  if (!INT64.test(s)) return undefined;
  const v = BigInt(s);
  return v > 9223372036854775807n || v < -9223372036854775808n ? undefined : v;
}

/** undefined when the requirement is invalid (which fails its whole term) */
function matchRequirement(r: Requirement, get: (k: string) => string | undefined): boolean | undefined {
  const values = Array.isArray(r?.values) ? r.values : [];
  const v = get(r?.key);
  switch (r?.operator) {
    case 'In':
      if (!values.length) return undefined;
      return v !== undefined && values.includes(v);
    case 'NotIn':
      if (!values.length) return undefined;
      return v === undefined || !values.includes(v);
    case 'Exists':
      if (values.length) return undefined;
      return v !== undefined;
    case 'DoesNotExist':
      if (values.length) return undefined;
      return v === undefined;
    case 'Gt':
    case 'Lt': {
      const want = values.length === 1 ? parseInt64(values[0]!) : undefined;
      if (want === undefined) return undefined;
      const have = v === undefined ? undefined : parseInt64(v);
      if (have === undefined) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return undefined;
  }
}

export function matchTerm(term: Term | null | undefined, node: KubeObject): boolean {
  const exprs = Array.isArray(term?.matchExpressions) ? term!.matchExpressions : [];
  const fields = Array.isArray(term?.matchFields) ? term!.matchFields : [];
  if (!exprs.length && !fields.length) return false;
  const labels: Record<string, string> = node.metadata.labels ?? {};
  const label = (k: string) => (Object.hasOwn(labels, k) ? labels[k] : undefined);
  for (const r of exprs) if (matchRequirement(r, label) !== true) return false;
  for (const r of fields) {
    // only metadata.name is a supported field, and only with In/NotIn
    if (r?.key !== 'metadata.name' || (r.operator !== 'In' && r.operator !== 'NotIn')) return false;
    if (matchRequirement(r, () => node.metadata.name) !== true) return false;
  }
  return true;
}

/** The required part: nodeSelector labels and required node affinity (RequiredNodeAffinity.Match). */
export function matchesRequired(pod: KubeObject, node: KubeObject): boolean {
  const sel = pod.spec?.nodeSelector;
  const labels: Record<string, string> = node.metadata.labels ?? {};
  if (sel && typeof sel === 'object') {
    for (const [k, v] of Object.entries(sel)) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const terms: Term[] = Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : [];
    if (!terms.some((t) => matchTerm(t, node))) return false;
  }
  return true;
}

export const nodeAffinity: FilterPlugin & ScorePlugin = {
  name: 'NodeAffinity',
  weight: 2,
  filter(_ctx, pod, nodeInfo) {
    return matchesRequired(pod, nodeInfo.node) ? FITS : unresolvable(ERR_REASON_POD);
  },
  /** sum of the weights of the preferred terms the node matches */
  score(_ctx, pod, nodeInfo) {
    const preferred = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    if (!Array.isArray(preferred)) return 0;
    let sum = 0;
    for (const p of preferred) {
      const w = typeof p?.weight === 'number' ? p.weight : 0;
      if (w !== 0 && matchTerm(p.preference, nodeInfo.node)) sum += w;
    }
    return sum;
  },
  normalize(scores) {
    return defaultNormalizeScore(scores, false);
  },
};
