// skiff-server's command line, parsed into one config object.
import { Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../proto/duration.js';

export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
  advertiseAddress?: string;
  tlsSans: string[];
  compactIntervalMs: number;
  compactRetain: number;
  logLevel: string;
  schedulerStrategy: 'spread' | 'binpack';
  nodeGracePeriodMs: number;
  defaultUnreachableTolerationSeconds: number;
  eventTtlMs: number;
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`--listen wants HOST:PORT, got ${v}`);
  const port = Number(m[3]);
  if (port < 0 || port > 65535) throw new InvalidArgumentError(`port out of range: ${port}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function parseServerArgs(argv: string[]): ServerConfig {
  const cmd = new Command('skiff-server')
    .description('skiff control plane: Kubernetes API, store, scheduler and controllers')
    .option('--data-dir <dir>', 'state, certificates and tokens', '/var/lib/skiff/server')
    .option('--listen <host:port>', 'address to serve the API on (TLS)', '0.0.0.0:6443')
    .option('--advertise-address <ip>', 'address agents and kubeconfigs use to reach this server')
    .option('--tls-san <name>', 'extra name or IP for the serving certificate (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--compact-interval <duration>', 'how often to compact store history', '5m')
    .option('--compact-retention <revisions>', 'revisions of history kept for watches', '1000')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .option('--node-grace-period <duration>', 'missed heartbeats for this long make a node Unknown (unreachable)', '15s')
    .option('--default-unreachable-toleration-seconds <n>', 'how long pods stay on a not-ready/unreachable node before eviction (Kubernetes: 300)', '10')
    .option('--event-ttl <duration>', 'how long Events are kept', '1h')
    .option('--scheduler-strategy <spread|binpack>', 'spread pods (LeastAllocated) or pack them (MostAllocated)', 'spread')
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{ dataDir: string; listen: string; advertiseAddress?: string; tlsSan: string[]; compactInterval: string; compactRetention: string; logLevel: string; schedulerStrategy: string; nodeGracePeriod: string; defaultUnreachableTolerationSeconds: string; eventTtl: string }>();
  const { host, port } = parseListen(o.listen);
  const retain = Number(o.compactRetention);
  if (!Number.isInteger(retain) || retain < 0) throw new InvalidArgumentError('--compact-retention must be a non-negative integer');
  if (o.schedulerStrategy !== 'spread' && o.schedulerStrategy !== 'binpack') throw new InvalidArgumentError('--scheduler-strategy must be spread or binpack');
  const tol = Number(o.defaultUnreachableTolerationSeconds);
  if (!Number.isInteger(tol) || tol < 0) throw new InvalidArgumentError('--default-unreachable-toleration-seconds must be a non-negative integer');
  return {
    nodeGracePeriodMs: parseDuration(o.nodeGracePeriod),
    eventTtlMs: parseDuration(o.eventTtl),
    defaultUnreachableTolerationSeconds: tol,
    schedulerStrategy: o.schedulerStrategy,
    dataDir: o.dataDir,
    host,
    port,
    advertiseAddress: o.advertiseAddress,
    tlsSans: o.tlsSan,
    compactIntervalMs: parseDuration(o.compactInterval),
    compactRetain: retain,
    logLevel: o.logLevel,
  };
}
