// Which cgroup world the agent runs in: v1 (one hierarchy per controller, maybe with an
// empty cgroup2 beside it: "hybrid") or v2 (unified), where each hierarchy is mounted,
// and which driver Docker uses. The agent checks this once at start-up.

import { readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupDriver } from './cgroup-parents.js';

export type CgroupVersion = 1 | 2;

export interface CgroupHierarchy {
  version: CgroupVersion;
  /** Where it is mounted here, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup. */
  mountPoint: string;
  /** The hierarchy path that is mounted (mountinfo's root field), "/" outside containers. */
  root: string;
  /** v1: the controllers of this hierarchy (and "name=systemd"-style names); v2: empty. */
  controllers: string[];
}

export interface CgroupLayout {
  version: CgroupVersion;
  hierarchies: CgroupHierarchy[];
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parse /proc/self/mountinfo text into cgroup hierarchies (one per mounted hierarchy). */
export function parseMountInfo(text: string): CgroupHierarchy[] {
  const out: CgroupHierarchy[] = [];
  const seenDevices = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const [fstype, , superOpts = ''] = right;
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const device = left[2];
    // The same hierarchy may be bind-mounted twice; the first mount is enough.
    if (seenDevices.has(device)) continue;
    seenDevices.add(device);
    const h: CgroupHierarchy = {
      version: fstype === 'cgroup2' ? 2 : 1,
      root: unescapeMount(left[3] ?? '/'),
      mountPoint: unescapeMount(left[4] ?? ''),
      controllers: [],
    };
    if (h.version === 1) {
      const known = new Set([
        'rw',
        'ro',
        'relatime',
        'noatime',
        'nosuid',
        'nodev',
        'noexec',
        'xattr',
        'clone_children',
        'noprefix',
        'cpuset_v2_mode',
      ]);
      h.controllers = superOpts.split(',').filter((o) => o && !known.has(o) && !o.startsWith('release_agent='));
    }
    out.push(h);
  }
  return out;
}

/** v2 when no v1 hierarchy carries a controller (hybrid setups count as v1, as Docker reports). */
export function layoutFromHierarchies(hierarchies: CgroupHierarchy[]): CgroupLayout {
  const v1 = hierarchies.filter((h) => h.version === 1 && h.controllers.some((c) => !c.startsWith('name=')));
  return { version: v1.length > 0 ? 1 : 2, hierarchies };
}

export async function detectCgroupLayout(mountinfoPath = '/proc/self/mountinfo'): Promise<CgroupLayout> {
  const text = await readFile(mountinfoPath, 'utf8');
  return layoutFromHierarchies(parseMountInfo(text));
}

/** The hierarchy holding a v1 controller, or the unified one on v2. */
export function hierarchyFor(layout: CgroupLayout, controller: string): CgroupHierarchy | undefined {
  if (layout.version === 2) return layout.hierarchies.find((h) => h.version === 2);
  return layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(controller));
}

/** The controllers enabled in a v2 hierarchy (cgroup.controllers at its mount point). */
export async function v2Controllers(h: CgroupHierarchy): Promise<string[]> {
  try {
    return (await readFile(join(h.mountPoint, 'cgroup.controllers'), 'utf8')).trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export interface CgroupSetup {
  layout: CgroupLayout;
  driver: CgroupDriver;
  /** Docker's own view; differs from layout.version only in odd setups worth a warning. */
  dockerCgroupVersion: CgroupVersion;
}

/**
 * Combine the local mounts with the driver Docker reports (`docker info` CgroupDriver).
 * Takes only what it needs from the runtime, so it does not depend on Docker types.
 */
export async function detectCgroupSetup(
  runtime: { info(): Promise<{ cgroupDriver: string; cgroupVersion: string }> },
  mountinfoPath?: string,
): Promise<CgroupSetup> {
  const [layout, info] = await Promise.all([detectCgroupLayout(mountinfoPath), runtime.info()]);
  const driver: CgroupDriver = info.cgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs';
  const dockerCgroupVersion: CgroupVersion = info.cgroupVersion === '2' ? 2 : 1;
  return { layout, driver, dockerCgroupVersion };
}
