// Score OwnerSpread: replicas of one controller (ownerReferences controller=true, by uid)
// prefer nodes holding fewer of their siblings, as the SelectorSpread plugin scored and
// PodTopologySpread's default hostname constraint does today.
import type { KubeObject } from '../../../proto/meta.js';
import { MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';

export function controllerUid(pod: KubeObject): string | undefined {
  return pod.metadata.ownerReferences?.find((r) => r?.controller === true)?.uid;
}

export const ownerSpread: ScorePlugin = {
  name: 'OwnerSpread',
  weight: 2,
  /** raw: the number of live siblings on the node */
  score(_ctx, pod, nodeInfo) {
    const uid = controllerUid(pod);
    if (!uid) return 0;
    const ns = pod.metadata.namespace;
    return nodeInfo.pods.filter(
      (p) => p.metadata.namespace === ns && !p.metadata.deletionTimestamp && controllerUid(p) === uid,
    ).length;
  },
  /** MaxNodeScore * (max - count) / max: an empty node scores 100 */
  normalize(scores) {
    const max = Math.max(0, ...scores);
    if (max === 0) return scores.map(() => MAX_NODE_SCORE);
    return scores.map((s) => Math.floor((MAX_NODE_SCORE * (max - s)) / max));
  },
};
