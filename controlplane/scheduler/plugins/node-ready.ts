// Filter NodeReady: a node whose Ready condition is not True takes only pods that tolerate
// the taint the node lifecycle controller puts on it (TaintNodesByCondition):
// not-ready for False or missing, unreachable for Unknown. The reason reads as that
// taint's, which is what users of kube-scheduler see for a NotReady node.
import { FITS, unresolvable, type FilterPlugin } from '../framework.js';
import {
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  tolerationsOf,
  tolerationsTolerateTaint,
  untoleratedTaintReason,
  type Taint,
} from '../../../proto/api/taints.js';

export const nodeReady: FilterPlugin = {
  name: 'NodeReady',
  filter(_ctx, pod, nodeInfo) {
    const status = nodeInfo.ready;
    if (status === 'True') return FITS;
    const implied: Taint = { key: status === 'Unknown' ? TAINT_UNREACHABLE : TAINT_NOT_READY, effect: 'NoSchedule' };
    if (tolerationsTolerateTaint(tolerationsOf(pod), implied)) return FITS;
    return unresolvable(untoleratedTaintReason(implied));
  },
};
