// TaintToleration: NoSchedule and NoExecute taints block pods that do not tolerate them
// (filter); untolerated PreferNoSchedule taints make a node less attractive (score).
import { defaultNormalizeScore, FITS, unresolvable, type FilterPlugin, type ScorePlugin } from '../framework.js';
import {
  findUntoleratedTaint,
  taintsOf,
  tolerationsOf,
  tolerationsTolerateTaint,
  untoleratedTaintReason,
} from '../../../proto/api/taints.js';

export const taintToleration: FilterPlugin & ScorePlugin = {
  name: 'TaintToleration',
  weight: 3,
  filter(_ctx, pod, nodeInfo) {
    const taint = findUntoleratedTaint(
      taintsOf(nodeInfo.node),
      tolerationsOf(pod),
      (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
    );
    return taint ? unresolvable(untoleratedTaintReason(taint)) : FITS;
  },
  /** the number of PreferNoSchedule taints not tolerated; normalized so fewer is better */
  score(_ctx, pod, nodeInfo) {
    const tolerations = tolerationsOf(pod).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    return taintsOf(nodeInfo.node).filter(
      (t) => t.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tolerations, t),
    ).length;
  },
  normalize(scores) {
    return defaultNormalizeScore(scores, true);
  },
};
