// Score LeastAllocated (NodeResourcesFit's default scoring strategy): the more cpu and
// memory a node has left after placing the pod, the higher it scores. Spreads load.
// Uses non-zero requests, so pods without requests still spread.
import type { ScorePlugin } from '../framework.js';
import { MAX_NODE_SCORE } from '../framework.js';
import { allocationScore } from './allocation.js';

/** leastRequestedScore: (capacity - requested) * 100 / capacity, 0 when over capacity */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity <= 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

export const leastAllocated: ScorePlugin = {
  name: 'NodeResourcesLeastAllocated',
  weight: 1,
  score(ctx, _pod, nodeInfo) {
    return allocationScore(ctx, nodeInfo, leastRequestedScore);
  },
};
