// Filter NodeResourcesFit: the pod's requests must fit in the node's allocatable minus
// what the pods already there request, and the node must have room for one more pod.
// Reasons and their order as noderesources/fit.go fitsRequest words them.
import { FITS, unschedulable, type FilterPlugin } from '../framework.js';
import { isScalarResource } from '../resources.js';

export const nodeResourcesFit: FilterPlugin = {
  name: 'NodeResourcesFit',
  filter(ctx, _pod, nodeInfo) {
    const reasons: string[] = [];
    const alloc = nodeInfo.allocatable;
    const used = nodeInfo.requested;
    const free = (r: string) => (alloc[r] ?? 0) - (used[r] ?? 0);
    if (nodeInfo.pods.length + 1 > (alloc.pods ?? 0)) reasons.push('Too many pods');
    const req = ctx.podRequests;
    for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
      const want = req[r] ?? 0;
      if (want > 0 && want > free(r)) reasons.push(`Insufficient ${r}`);
    }
    for (const r of Object.keys(req).filter(isScalarResource).sort()) {
      const want = req[r] ?? 0;
      if (want > 0 && want > free(r)) reasons.push(`Insufficient ${r}`);
    }
    return reasons.length ? unschedulable(...reasons) : FITS;
  },
};
