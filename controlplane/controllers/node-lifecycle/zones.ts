// Zone disruption, as kube-controller-manager's node lifecycle controller judges it
// (pkg/controller/nodelifecycle): nodes are grouped by zone (region + zone labels); a
// zone whose nodes are all not Ready is in FullDisruption, one with more than two not
// Ready nodes making up at least --unhealthy-zone-threshold of it is in
// PartialDisruption. The zone's state sets how fast its nodes may be NoExecute-tainted
// (and so have their pods evicted); when every zone is fully disrupted the controller
// assumes it is the one cut off and evicts nothing ("master disruption mode").

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

export interface DisruptionOptions {
  /** nodes tainted per second per zone in a healthy zone (--node-eviction-rate, 0.1) */
  nodeEvictionRate: number;
  /** the same in a partially disrupted zone of a large cluster (--secondary-node-eviction-rate, 0.01) */
  secondaryNodeEvictionRate: number;
  /** fraction of not-Ready nodes (at least 3) that makes a zone partially disrupted (--unhealthy-zone-threshold, 0.55) */
  unhealthyZoneThreshold: number;
  /** above this many nodes a zone is large (--large-cluster-size-threshold, 50) */
  largeClusterSizeThreshold: number;
}

export const DEFAULT_DISRUPTION: DisruptionOptions = {
  nodeEvictionRate: 0.1,
  secondaryNodeEvictionRate: 0.01,
  unhealthyZoneThreshold: 0.55,
  largeClusterSizeThreshold: 50,
};

export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_REGION = 'topology.kubernetes.io/region';
const LABEL_ZONE_BETA = 'failure-domain.beta.kubernetes.io/zone';
const LABEL_REGION_BETA = 'failure-domain.beta.kubernetes.io/region';
/** nodes with this label are left out of the zone disruption counts */
export const LABEL_EXCLUDE_DISRUPTION = 'node.kubernetes.io/exclude-disruption';

/** utilnode.GetZoneKey: "region:\x00:zone", or "" for a node with neither label */
export function zoneKey(labels: Record<string, string> | undefined): string {
  const l = labels ?? {};
  const region = l[LABEL_REGION] ?? l[LABEL_REGION_BETA] ?? '';
  const zone = l[LABEL_ZONE] ?? l[LABEL_ZONE_BETA] ?? '';
  if (!region && !zone) return '';
  return `${region}:\x00:${zone}`;
}

/** the zone as a metric label: "zone" or "region/zone" (Kubernetes prints the key itself) */
export function zoneLabel(key: string): string {
  const [region, zone] = key.split(':\x00:');
  return key === '' ? '' : region ? `${region}/${zone ?? ''}` : (zone ?? '');
}

/** ComputeZoneState: the zone's state and how many of its nodes are not Ready */
export function computeZoneState(
  readyStatuses: (string | undefined)[],
  unhealthyZoneThreshold: number,
): { unhealthy: number; state: ZoneState } {
  let ready = 0;
  let notReady = 0;
  for (const s of readyStatuses) {
    if (s === 'True') ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return { unhealthy: notReady, state: 'FullDisruption' };
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyZoneThreshold)
    return { unhealthy: notReady, state: 'PartialDisruption' };
  return { unhealthy: notReady, state: 'Normal' };
}

/**
 * setLimiterInZone: nodes tainted per second in a zone of this size and state. A healthy
 * zone, and a fully disrupted one while other zones are healthy, at the normal rate; a
 * partially disrupted one at the secondary rate if large, else not at all.
 */
export function zoneEvictionRate(state: ZoneState, zoneSize: number, o: DisruptionOptions): number {
  switch (state) {
    case 'PartialDisruption':
      return zoneSize > o.largeClusterSizeThreshold ? o.secondaryNodeEvictionRate : 0;
    case 'Initial':
    case 'Normal':
    case 'FullDisruption':
    default:
      return o.nodeEvictionRate;
  }
}

/**
 * A token bucket with a burst of one (client-go's token bucket as the node controller
 * builds it: EvictionRateLimiterBurst = 1); qps 0 never admits anything.
 */
export class ZoneRateLimiter {
  private tokens = 1;
  private last: number;

  constructor(
    private qps: number,
    private readonly now: () => number,
  ) {
    this.last = now();
  }

  get rate(): number {
    return this.qps;
  }

  /** change the rate (SwapLimiter): a bucket that was empty starts empty again */
  swap(qps: number): void {
    if (qps === this.qps) return;
    this.refill();
    const empty = this.tokens < 1;
    this.qps = qps;
    this.tokens = empty ? 0 : 1;
    this.last = this.now();
  }

  tryAccept(): boolean {
    if (!(this.qps > 0)) return false;
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(): void {
    const t = this.now();
    if (this.qps > 0) this.tokens = Math.min(1, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
  }
}
