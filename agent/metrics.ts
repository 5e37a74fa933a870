// skiff-agent's Prometheus metrics, served on --metrics-bind-address (loopback by
// default, like kube-proxy's 10249): pods, container starts and restarts, pod sync
// latency, container runtime errors, and the process metrics.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly pods = new Gauge({ name: 'skiff_agent_pods', help: 'pods this agent runs', registers: [this.registry] });
  readonly containerStarts = new Counter({
    name: 'skiff_agent_container_starts_total',
    help: 'containers started',
    registers: [this.registry],
  });
  readonly containerRestarts = new Counter({
    name: 'skiff_agent_container_restarts_total',
    help: 'containers started again after an exit or a failed liveness probe',
    registers: [this.registry],
  });
  readonly syncDuration = new Histogram({
    name: 'skiff_agent_pod_sync_duration_seconds',
    help: 'one pod worker sync',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly runtimeErrors = new Counter({
    name: 'skiff_agent_runtime_errors_total',
    help: 'failed container runtime (Docker) calls',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly connected = new Gauge({
    name: 'skiff_agent_server_connected',
    help: '1 while registered with the server',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** serve GET /metrics on host:port; returns the server so it can be closed */
  serve(hostPort: string, onError: (e: Error) => void): Server {
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(hostPort);
    if (!m) throw new Error(`--metrics-bind-address wants HOST:PORT, got ${hostPort}`);
    const srv = createServer(async (req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        res.writeHead(200, { 'Content-Type': this.registry.contentType });
        res.end(await this.registry.metrics());
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      } else {
        res.writeHead(404).end();
      }
    });
    srv.on('error', onError);
    srv.listen(Number(m[3]), m[1] ?? (m[2] || '127.0.0.1'));
    srv.unref();
    return srv;
  }
}
