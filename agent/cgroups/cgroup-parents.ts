// Where a pod's containers live in the cgroup tree, by QoS class, named as kubelet names
// them (pkg/kubelet/cm/cgroup_manager_linux.go) for both cgroup drivers. Pure, no I/O.
// Map of the code base: ARCHITECTURE.md, "The parts".

import type { QOSClass } from './qos.js';

export type CgroupDriver = 'cgroupfs' | 'systemd';

/** The node-level root all pods sit under (kubelet's --cgroup-root default + "kubepods"). */
export const KUBEPODS = 'kubepods';

// A pod UID becomes a path component: refuse anything that could walk the tree.
const UID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export function assertPodUid(uid: string): void {
  if (!UID_RE.test(uid)) throw new Error(`invalid pod uid for a cgroup name: ${JSON.stringify(uid)}`);
}

/** kubelet's CgroupName for a pod: ["kubepods"], ["kubepods","burstable"] ... + "pod<uid>". */
export function podCgroupName(qos: QOSClass, uid: string): string[] {
  assertPodUid(uid);
  const base = qosCgroupName(qos);
  return [...base, `pod${uid}`];
}

/** The QoS-level cgroup: Guaranteed pods sit directly under kubepods. */
export function qosCgroupName(qos: QOSClass): string[] {
  switch (qos) {
    case 'Guaranteed':
      return [KUBEPODS];
    case 'Burstable':
      return [KUBEPODS, 'burstable'];
    case 'BestEffort':
      return [KUBEPODS, 'besteffort'];
  }
}

/** cgroupfs form: "/kubepods/burstable/pod<uid>". */
export function cgroupfsName(name: string[]): string {
  return '/' + name.join('/');
}

// systemd uses "-" as the slice hierarchy separator, so kubelet turns dashes inside a
// component (the UID's) into underscores.
function escapeSystemd(part: string): string {
  return part.replace(/-/g, '_');
}

/** systemd slice name: ["kubepods","burstable","pod<uid>"] -> "kubepods-burstable-pod<uid_>.slice". */
export function systemdSliceName(name: string[]): string {
  if (name.length === 0) return '-.slice';
  return name.map(escapeSystemd).join('-') + '.slice';
}

/** Expand a slice name to its path: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" (systemd's rule). */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice.includes('/')) throw new Error(`not a slice name: ${slice}`);
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-' || base === '') return '/';
  const parts = base.split('-');
  let prefix = '';
  let path = '';
  for (const p of parts) {
    if (p === '') throw new Error(`invalid slice name: ${slice}`);
    prefix = prefix ? `${prefix}-${p}` : p;
    path += `/${prefix}.slice`;
  }
  return path;
}

/** The value for Docker's HostConfig.CgroupParent for a pod. */
export function podCgroupParent(qos: QOSClass, uid: string, driver: CgroupDriver): string {
  const name = podCgroupName(qos, uid);
  return driver === 'systemd' ? systemdSliceName(name) : cgroupfsName(name);
}

/** The pod's directory relative to a hierarchy's mount point, e.g. "/kubepods/burstable/pod<uid>". */
export function podCgroupPath(qos: QOSClass, uid: string, driver: CgroupDriver): string {
  const name = podCgroupName(qos, uid);
  return driver === 'systemd' ? expandSlice(systemdSliceName(name)) : cgroupfsName(name);
}

/** Turn a CgroupParent value (either form) into a hierarchy-relative directory. */
export function cgroupParentToPath(parent: string, driver: CgroupDriver): string {
  if (driver === 'systemd' && parent.endsWith('.slice') && !parent.includes('/')) return expandSlice(parent);
  return parent.startsWith('/') ? parent : '/' + parent;
}

/** A container's directory: cgroupfs "<parent>/<id>", systemd "<parent>/docker-<id>.scope" (Docker's naming). */
export function containerCgroupPath(parent: string, containerId: string, driver: CgroupDriver): string {
  const dir = cgroupParentToPath(parent, driver).replace(/\/+$/, '');
  return driver === 'systemd' ? `${dir}/docker-${containerId}.scope` : `${dir}/${containerId}`;
}
