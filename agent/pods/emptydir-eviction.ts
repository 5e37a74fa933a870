// kubelet's eviction manager, the part about local storage limits (emptyDirLimitEviction):
// every housekeeping interval each running pod's disk-backed emptyDirs with a sizeLimit are
// measured (a bounded du: it stops as soon as the limit is passed) and a pod over a limit
// is evicted with kubelet's message. Memory-backed emptyDirs need no check: their tmpfs
// is sized by the limit and refuses writes past it (ENOSPC).
import type { KubeObject } from '../../proto/meta.js';
import { diskUsage } from '../storage/disk-usage.js';
import { limitedEmptyDirs } from './volumes.js';

/** eviction_manager.go emptyDirMessageFmt (with its trailing space) */
export function emptyDirMessage(volume: string, limit: string): string {
  return `Usage of EmptyDir volume ${JSON.stringify(volume)} exceeds the limit ${JSON.stringify(limit)}. `;
}

export interface EvictablePod {
  pod: KubeObject;
  evicted: boolean;
  finished: boolean;
  evict(message: string): void;
}

/** measure every limited emptyDir of the pods; evict those over a limit. Returns the evicted pods' uids. */
export async function enforceEmptyDirLimits(pods: Iterable<EvictablePod>, dataDir: string): Promise<string[]> {
  const evicted: string[] = [];
  for (const w of pods) {
    const p = w.pod;
    if (w.evicted || w.finished || p.metadata.deletionTimestamp) continue;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    for (const v of limitedEmptyDirs(p, dataDir)) {
      const u = await diskUsage(v.dir, { stopAbove: v.limitBytes });
      if (u.bytes > v.limitBytes) {
        w.evict(emptyDirMessage(v.volume, v.limit));
        evicted.push(p.metadata.uid!);
        break;
      }
    }
  }
  return evicted;
}
