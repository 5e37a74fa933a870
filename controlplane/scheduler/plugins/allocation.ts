// Shared by LeastAllocated and MostAllocated (noderesources resource_allocation.go):
// per-resource scores over cpu and memory, weight 1 each, averaged; a resource the node
// has none of is left out.
import type { CycleContext, NodeInfo } from '../framework.js';

const RESOURCES = ['cpu', 'memory'] as const;

export function allocationScore(
  ctx: CycleContext,
  nodeInfo: NodeInfo,
  scorer: (requested: number, capacity: number) => number,
): number {
  let sum = 0;
  let weights = 0;
  for (const r of RESOURCES) {
    const capacity = nodeInfo.allocatable[r] ?? 0;
    if (capacity === 0) continue;
    const requested = (nodeInfo.nonZeroRequested[r] ?? 0) + (ctx.podNonZeroRequests[r] ?? 0);
    sum += scorer(requested, capacity);
    weights += 1;
  }
  return weights ? Math.floor(sum / weights) : 0;
}
