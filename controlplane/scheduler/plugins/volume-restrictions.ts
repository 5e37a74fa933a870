// VolumeRestrictions (pkg/scheduler/framework/plugins/volumerestrictions), the part that
// applies here: a claim with the ReadWriteOncePod access mode serves one pod; another pod
// using it is unschedulable while the first (scheduled, not finished) holds it.
import type { KubeObject } from '../../../proto/meta.js';
import { FITS, unschedulable, type FilterPlugin } from '../framework.js';

export const ERR_REASON_RWOP_CONFLICT =
  'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';

function claimNames(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const v of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) {
    if (typeof v?.persistentVolumeClaim?.claimName === 'string') out.push(v.persistentVolumeClaim.claimName);
  }
  return out;
}

export const volumeRestrictions: FilterPlugin = {
  name: 'VolumeRestrictions',
  preFilter(ctx, pod) {
    if (!ctx.volumes) return FITS;
    const ns = pod.metadata.namespace ?? 'default';
    const rwop = claimNames(pod).filter((n) => {
      const modes = ctx.volumes!.claim(ns, n)?.spec?.accessModes;
      return Array.isArray(modes) && modes.includes('ReadWriteOncePod');
    });
    if (!rwop.length) return FITS;
    for (const info of ctx.nodeInfos) {
      for (const other of info.pods) {
        if (other.metadata.uid === pod.metadata.uid || (other.metadata.namespace ?? 'default') !== ns) continue;
        if (claimNames(other).some((n) => rwop.includes(n))) return unschedulable(ERR_REASON_RWOP_CONFLICT);
      }
    }
    return FITS;
  },
  filter() {
    return FITS;
  },
};
