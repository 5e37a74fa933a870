// When a pod goes, its pod-level cgroup directories stay behind in every hierarchy (Docker
// removes only the container's own): rmdir them, as kubelet's pod container manager does.

import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  podCgroupPath,
  expandSlice,
  qosCgroupName,
  systemdSliceName,
  cgroupfsName,
  type CgroupDriver,
} from './cgroup-parents.js';
import type { CgroupLayout } from './detect.js';
import type { QOSClass } from './qos.js';
import { hostDir } from './read-limits.js';

export interface CleanupResult {
  removed: string[];
  failed: Array<{ path: string; error: string }>;
}

const ALL_QOS: QOSClass[] = ['Guaranteed', 'Burstable', 'BestEffort'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// rmdir a cgroup and any leftover children, deepest first. A cgroup dir "contains" only
// virtual files, so rmdir works once no process and no child cgroup is left.
async function rmdirTree(dir: string, result: CleanupResult, retries: number): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    result.failed.push({ path: dir, error: (e as Error).message });
    return;
  }
  for (const ent of entries) if (ent.isDirectory()) await rmdirTree(join(dir, ent.name), result, retries);
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      result.removed.push(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // EBUSY: the kernel may still be releasing a just-killed container's cgroup.
      if (code === 'EBUSY' && attempt < retries) {
        await sleep(100 * (attempt + 1));
        continue;
      }
      result.failed.push({ path: dir, error: (e as Error).message });
      return;
    }
  }
}

/**
 * Remove a pod's cgroup directories in every mounted hierarchy (each v1 controller, the
 * unified one on v2 or hybrid). Without `qos` every QoS location is tried, for pods whose
 * spec is gone (orphans found after an agent restart). Never throws; failures are listed.
 */
export async function removePodCgroups(
  layout: CgroupLayout,
  driver: CgroupDriver,
  podUid: string,
  qos?: QOSClass,
  opts: { retries?: number } = {},
): Promise<CleanupResult> {
  const result: CleanupResult = { removed: [], failed: [] };
  let paths: string[];
  try {
    paths = (qos ? [qos] : ALL_QOS).map((q) => podCgroupPath(q, podUid, driver));
  } catch (e) {
    result.failed.push({ path: podUid, error: (e as Error).message });
    return result;
  }
  await Promise.all(
    layout.hierarchies.flatMap((h) => paths.map((p) => rmdirTree(hostDir(h, p), result, opts.retries ?? 5))),
  );
  return result;
}

/** Pod UIDs that have a cgroup directory under kubepods (any QoS), for orphan clean-up. */
export async function listPodCgroupUids(layout: CgroupLayout, driver: CgroupDriver): Promise<string[]> {
  const h = layout.hierarchies.find(
    (x) => x.version === layout.version && (x.version === 2 || x.controllers.includes('memory')),
  );
  if (!h) return [];
  const uids = new Set<string>();
  for (const q of ALL_QOS) {
    const name = qosCgroupName(q);
    const dir = hostDir(h, driver === 'systemd' ? expandSlice(systemdSliceName(name)) : cgroupfsName(name));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    const prefix = driver === 'systemd' ? name.join('-') + '-pod' : 'pod';
    for (const ent of entries) {
      if (!ent.isDirectory() || !ent.name.startsWith(prefix)) continue;
      let uid = ent.name.slice(prefix.length);
      if (driver === 'systemd') {
        if (!uid.endsWith('.slice')) continue;
        uid = uid.slice(0, -'.slice'.length).replace(/_/g, '-');
      }
      uids.add(uid);
    }
  }
  return [...uids];
}
