// Read back the limits the kernel actually enforces for a container, from the cgroup
// filesystem: proof that Docker applied what the runtime asked for, and what tests check.
// v1: memory.limit_in_bytes, cpu.cfs_quota_us, cpu.cfs_period_us, cpu.shares.
// v2: memory.max, cpu.max, cpu.weight.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { containerCgroupPath, type CgroupDriver } from './cgroup-parents.js';
import { hierarchyFor, type CgroupHierarchy, type CgroupLayout, type CgroupVersion } from './detect.js';

export interface EffectiveLimits {
  version: CgroupVersion;
  /** null = unlimited. */
  memoryLimitBytes: number | null;
  /** null = unlimited (v1 -1, v2 "max"). */
  cpuQuotaUs: number | null;
  cpuPeriodUs: number;
  /** v1 only. */
  cpuShares?: number;
  /** v2 only (Docker converts shares: 1 + (shares-2)*9999/262142). */
  cpuWeight?: number;
  /** The directories read, for messages. */
  memoryDir: string;
  cpuDir: string;
}

// v1 reports "no limit" as PAGE_COUNTER_MAX rounded to a page (9223372036854771712 on
// 4 KiB pages); anything from 2^62 up is unlimited in practice.
const V1_UNLIMITED = 2n ** 62n;

export function parseV1MemoryLimit(text: string): number | null {
  const v = BigInt(text.trim());
  return v >= V1_UNLIMITED ? null : Number(v);
}

export function parseV1CpuQuota(text: string): number | null {
  const v = Number(text.trim());
  if (!Number.isFinite(v)) throw new Error(`bad cpu.cfs_quota_us: ${text}`);
  return v < 0 ? null : v;
}

export function parseIntFile(text: string, what = 'value'): number {
  const v = Number(text.trim());
  if (!Number.isInteger(v)) throw new Error(`bad ${what}: ${JSON.stringify(text)}`);
  return v;
}

export function parseV2MemoryMax(text: string): number | null {
  const t = text.trim();
  return t === 'max' ? null : parseIntFile(t, 'memory.max');
}

/** cpu.max is "<quota|max> <period>". */
export function parseV2CpuMax(text: string): { quotaUs: number | null; periodUs: number } {
  const [q, p] = text.trim().split(/\s+/);
  return {
    quotaUs: q === 'max' ? null : parseIntFile(q, 'cpu.max quota'),
    periodUs: p ? parseIntFile(p, 'cpu.max period') : 100_000,
  };
}

async function readText(dir: string, file: string): Promise<string> {
  return readFile(join(dir, file), 'utf8');
}

/** Read the limit files of one cgroup, given its directories in the memory and cpu hierarchies. */
export async function readLimitsFromDirs(
  version: CgroupVersion,
  memoryDir: string,
  cpuDir: string,
): Promise<EffectiveLimits> {
  if (version === 2) {
    const [mem, cpuMax, weight] = await Promise.all([
      readText(memoryDir, 'memory.max'),
      readText(cpuDir, 'cpu.max'),
      readText(cpuDir, 'cpu.weight'),
    ]);
    const { quotaUs, periodUs } = parseV2CpuMax(cpuMax);
    return {
      version,
      memoryLimitBytes: parseV2MemoryMax(mem),
      cpuQuotaUs: quotaUs,
      cpuPeriodUs: periodUs,
      cpuWeight: parseIntFile(weight, 'cpu.weight'),
      memoryDir,
      cpuDir,
    };
  }
  const [mem, quota, period, shares] = await Promise.all([
    readText(memoryDir, 'memory.limit_in_bytes'),
    readText(cpuDir, 'cpu.cfs_quota_us'),
    readText(cpuDir, 'cpu.cfs_period_us'),
    readText(cpuDir, 'cpu.shares'),
  ]);
  return {
    version,
    memoryLimitBytes: parseV1MemoryLimit(mem),
    cpuQuotaUs: parseV1CpuQuota(quota),
    cpuPeriodUs: parseIntFile(period, 'cpu.cfs_period_us'),
    cpuShares: parseIntFile(shares, 'cpu.shares'),
    memoryDir,
    cpuDir,
  };
}

/** A hierarchy-relative cgroup path -> directory on this machine (honours a non-"/" mount root). */
export function hostDir(h: CgroupHierarchy, cgroupPath: string): string {
  let rel = cgroupPath;
  if (h.root !== '/' && (rel === h.root || rel.startsWith(h.root + '/'))) rel = rel.slice(h.root.length) || '/';
  return join(h.mountPoint, rel);
}

function needHierarchy(layout: CgroupLayout, controller: string): CgroupHierarchy {
  const h = hierarchyFor(layout, controller);
  if (!h) throw new Error(`no cgroup hierarchy with the ${controller} controller is mounted`);
  return h;
}

/** Directories of a container's cgroup in the memory and cpu hierarchies. */
export function containerCgroupDirs(
  layout: CgroupLayout,
  driver: CgroupDriver,
  cgroupParent: string,
  containerId: string,
): { memoryDir: string; cpuDir: string } {
  const path = containerCgroupPath(cgroupParent, containerId, driver);
  return {
    memoryDir: hostDir(needHierarchy(layout, 'memory'), path),
    cpuDir: hostDir(needHierarchy(layout, 'cpu'), path),
  };
}

/** Effective limits of a container from its CgroupParent and id. */
export async function readContainerLimits(
  layout: CgroupLayout,
  driver: CgroupDriver,
  cgroupParent: string,
  containerId: string,
): Promise<EffectiveLimits> {
  const { memoryDir, cpuDir } = containerCgroupDirs(layout, driver, cgroupParent, containerId);
  return readLimitsFromDirs(layout.version, memoryDir, cpuDir);
}

export interface ProcCgroups {
  /** v1 controller (or "name=systemd") -> path. */
  v1: Map<string, string>;
  /** The "0::" line's path, if any. */
  unified?: string;
}

/** Parse /proc/<pid>/cgroup ("hierarchy-id:controller,list:path" per line). */
export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = { v1: new Map() };
  for (const line of text.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (id === '0' && controllers === '') out.unified = path;
    else for (const c of controllers.split(',')) if (c) out.v1.set(c, path);
  }
  return out;
}

/** Effective limits of the cgroup a process is in (e.g. a container's State.Pid). */
export async function readLimitsForPid(
  layout: CgroupLayout,
  pid: number,
  procRoot = '/proc',
): Promise<EffectiveLimits> {
  const cg = parseProcCgroup(await readFile(join(procRoot, String(pid), 'cgroup'), 'utf8'));
  const pathFor = (controller: string): string => {
    const p = layout.version === 2 ? cg.unified : cg.v1.get(controller);
    if (p === undefined) throw new Error(`process ${pid} is in no ${controller} cgroup`);
    return p;
  };
  return readLimitsFromDirs(
    layout.version,
    hostDir(needHierarchy(layout, 'memory'), pathFor('memory')),
    hostDir(needHierarchy(layout, 'cpu'), pathFor('cpu')),
  );
}
