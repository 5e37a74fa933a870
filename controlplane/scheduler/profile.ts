// The plugin set and order kube-scheduler's default profile uses (filters in its
// MultiPoint order, scores with its weights), with the resource scoring chosen by
// `--scheduler-strategy`: spread (LeastAllocated + owner spreading) or binpack (MostAllocated).
import type { Profile } from './framework.js';
import { leastAllocated } from './plugins/least-allocated.js';
import { mostAllocated } from './plugins/most-allocated.js';
import { nodeAffinity } from './plugins/node-affinity.js';
import { nodeName } from './plugins/node-name.js';
import { nodePorts } from './plugins/node-ports.js';
import { nodeReady } from './plugins/node-ready.js';
import { nodeResourcesFit } from './plugins/node-resources-fit.js';
import { nodeUnschedulable } from './plugins/node-unschedulable.js';
import { ownerSpread } from './plugins/owner-spread.js';
import { taintToleration } from './plugins/taint-toleration.js';
import { volumeBinding } from './plugins/volume-binding.js';
import { volumeRestrictions } from './plugins/volume-restrictions.js';

export type Strategy = 'spread' | 'binpack';

export function defaultProfile(strategy: Strategy = 'spread'): Profile {
  return {
    filters: [
      nodeUnschedulable,
      nodeName,
      taintToleration,
      nodeReady,
      nodeAffinity,
      nodePorts,
      nodeResourcesFit,
      volumeRestrictions,
      volumeBinding,
    ],
    scores:
      strategy === 'binpack'
        ? [taintToleration, nodeAffinity, mostAllocated]
        : [taintToleration, nodeAffinity, leastAllocated, ownerSpread],
  };
}
