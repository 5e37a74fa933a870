// Filter NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods that
// tolerate the node.kubernetes.io/unschedulable:NoSchedule taint.
import { FITS, unresolvable, type FilterPlugin } from '../framework.js';
import { TAINT_UNSCHEDULABLE, tolerationsOf, tolerationsTolerateTaint } from '../../../proto/api/taints.js';

export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  filter(_ctx, pod, nodeInfo) {
    if (nodeInfo.node.spec?.unschedulable !== true) return FITS;
    if (tolerationsTolerateTaint(tolerationsOf(pod), { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' })) return FITS;
    return unresolvable(ERR_REASON_UNSCHEDULABLE);
  },
};
