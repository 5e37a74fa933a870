// skiff-server's Prometheus metrics (GET /metrics), named after kube-apiserver's where
// one exists: API requests by verb/resource/code with latency, open watches, scheduler
// attempts and latency, store size and compaction, connected agents, heartbeat age,
// zone health and evictions of the node lifecycle controller.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'API requests by verb, resource and HTTP code',
    labelNames: ['verb', 'resource', 'subresource', 'code'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'API request latency (watches and streams excluded)',
    labelNames: ['verb', 'resource'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly watches = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'open watch streams',
    registers: [this.registry],
  });
  readonly storeSize = new Gauge({
    name: 'skiff_store_size_bytes',
    help: 'size of the store on disk',
    registers: [this.registry],
  });
  readonly storeRevision = new Gauge({
    name: 'skiff_store_revision',
    help: 'current store revision',
    registers: [this.registry],
  });
  readonly compactedRevision = new Gauge({
    name: 'skiff_store_compacted_revision',
    help: 'revision history is compacted to',
    registers: [this.registry],
  });
  readonly agents = new Gauge({
    name: 'skiff_connected_agents',
    help: 'agents with an open connection',
    registers: [this.registry],
  });
  readonly heartbeatAge = new Gauge({
    name: 'skiff_node_heartbeat_age_seconds',
    help: 'seconds since each node last renewed its lease',
    labelNames: ['node'],
    registers: [this.registry],
  });
  readonly schedulerAttempts = new Gauge({
    name: 'scheduler_schedule_attempts_total',
    help: 'scheduling attempts by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly schedulerLatency = new Gauge({
    name: 'scheduler_last_attempt_duration_seconds',
    help: 'duration of the last scheduling attempt',
    registers: [this.registry],
  });
  readonly preemptionAttempts = new Gauge({
    name: 'scheduler_preemption_attempts_total',
    help: 'Total preemption attempts in the cluster till now',
    registers: [this.registry],
  });
  readonly preemptionVictims = new Histogram({
    name: 'scheduler_preemption_victims',
    help: 'Number of selected preemption victims',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  // the node lifecycle controller's, named as kube-controller-manager's node_collector_*
  readonly zoneHealth = new Gauge({
    name: 'node_collector_zone_health',
    help: 'percentage of Ready nodes per zone',
    labelNames: ['zone'],
    registers: [this.registry],
  });
  readonly zoneSize = new Gauge({
    name: 'node_collector_zone_size',
    help: 'nodes per zone',
    labelNames: ['zone'],
    registers: [this.registry],
  });
  readonly unhealthyNodes = new Gauge({
    name: 'node_collector_unhealthy_nodes_in_zone',
    help: 'not Ready nodes per zone',
    labelNames: ['zone'],
    registers: [this.registry],
  });
  readonly nodeEvictions = new Counter({
    name: 'node_collector_evictions_total',
    help: 'nodes NoExecute-tainted for eviction since the server started, per zone',
    labelNames: ['zone'],
    registers: [this.registry],
  });
  // client-go's leader election metric: 1 while this server holds the Lease `name`
  readonly leaderStatus = new Gauge({
    name: 'leader_election_master_status',
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
    labelNames: ['name'],
    registers: [this.registry],
  });
  readonly fullDisruption = new Gauge({
    name: 'skiff_node_collector_full_disruption',
    help: '1 while every zone is fully disrupted (master disruption mode: no evictions)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

/** kubectl-style verb from method and request shape */
export function verbOf(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
      return watch ? 'WATCH' : named ? 'GET' : 'LIST';
    case 'POST':
      return 'POST';
    case 'PUT':
      return 'PUT';
    case 'PATCH':
      return 'PATCH';
    case 'DELETE':
      return named ? 'DELETE' : 'DELETECOLLECTION';
    default:
      return method;
  }
}
