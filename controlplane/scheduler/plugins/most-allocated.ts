// Score MostAllocated (`--scheduler-strategy binpack`): the fuller a node would be after
// placing the pod, the higher it scores, so pods pack onto few nodes.
import type { ScorePlugin } from '../framework.js';
import { MAX_NODE_SCORE } from '../framework.js';
import { allocationScore } from './allocation.js';

/** mostRequestedScore: requested * 100 / capacity, requested capped at capacity */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity <= 0) return 0;
  return Math.floor((Math.min(requested, capacity) * MAX_NODE_SCORE) / capacity);
}

export const mostAllocated: ScorePlugin = {
  name: 'NodeResourcesMostAllocated',
  weight: 1,
  score(ctx, _pod, nodeInfo) {
    return allocationScore(ctx, nodeInfo, mostRequestedScore);
  },
};
