// Container resources -> cgroup settings, with kubelet's arithmetic
// (pkg/kubelet/cm/helpers_linux.go, kuberuntime_container_linux.go). Pure, no I/O.

import type { ResourceRequirements } from '../../proto/api/types.gen.js';
import { cpuToMillicores, memoryToBytes } from '../../proto/quantity.js';

export const MIN_SHARES = 2;
export const MAX_SHARES = 262144;
export const SHARES_PER_CPU = 1024;
export const QUOTA_PERIOD_US = 100_000; // 100 ms, the CFS default kubelet uses
export const MIN_QUOTA_US = 1000;

/** requests.cpu millicores -> cpu.shares (min 2, max 262144). */
export function milliCPUToShares(milliCPU: number): number {
  if (milliCPU <= 0) return MIN_SHARES;
  const shares = Math.trunc((milliCPU * SHARES_PER_CPU) / 1000);
  if (shares < MIN_SHARES) return MIN_SHARES;
  if (shares > MAX_SHARES) return MAX_SHARES;
  return shares;
}

/** limits.cpu millicores -> cfs_quota_us for a period (0 = no limit; min 1000 µs). */
export function milliCPUToQuota(milliCPU: number, periodUs = QUOTA_PERIOD_US): number {
  if (milliCPU <= 0) return 0;
  const quota = Math.trunc((milliCPU * periodUs) / 1000);
  return quota < MIN_QUOTA_US ? MIN_QUOTA_US : quota;
}

/** cgroup v2 cpu.weight from v1 shares, the conversion runc (and so Docker) applies. */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.trunc(((shares - 2) * 9999) / 262142);
}

/** A container's resources (limits, requests), as the API types them. */
export type ResourceList = Pick<ResourceRequirements, 'limits' | 'requests'>;

/** What the runtime asks Docker for; undefined = leave Docker's default (no limit). */
export interface LinuxResources {
  memoryLimitBytes?: number;
  cpuShares: number;
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
}

/**
 * The cgroup settings for one container. As kubelet: shares from requests.cpu, or from
 * limits.cpu when no request is set (the API's defaulting would have copied it); always
 * at least 2, so a BestEffort container gets the minimum weight.
 */
export function linuxResources(resources: ResourceList | null | undefined): LinuxResources {
  const limits = resources?.limits ?? {};
  const requests = resources?.requests ?? {};
  const cpuLimit = limits.cpu !== undefined ? cpuToMillicores(limits.cpu) : 0;
  const cpuRequest = requests.cpu !== undefined ? cpuToMillicores(requests.cpu) : 0;
  const out: LinuxResources = {
    cpuShares: milliCPUToShares(cpuRequest === 0 && cpuLimit !== 0 ? cpuLimit : cpuRequest),
  };
  if (cpuLimit > 0) {
    out.cpuPeriodUs = QUOTA_PERIOD_US;
    out.cpuQuotaUs = milliCPUToQuota(cpuLimit, QUOTA_PERIOD_US);
  }
  if (limits.memory !== undefined) {
    const bytes = memoryToBytes(limits.memory);
    if (bytes > 0) out.memoryLimitBytes = bytes;
  }
  return out;
}
