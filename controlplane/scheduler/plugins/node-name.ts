// Filter NodeName: a pod that names its node fits only there.
import { FITS, unresolvable, type FilterPlugin } from '../framework.js';

export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin = {
  name: 'NodeName',
  filter(_ctx, pod, nodeInfo) {
    const want = pod.spec?.nodeName;
    return !want || want === nodeInfo.name ? FITS : unresolvable(ERR_REASON_NODE_NAME);
  },
};
