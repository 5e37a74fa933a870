// skiff-agent's command line, parsed into one config object.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../proto/duration.js';
import { nodeLabelsError } from '../proto/node-labels.js';

export interface AgentConfig {
  /** the first of `servers` (where the node's own address is looked up from) */
  server: string;
  /** every --server URL */
  servers: string[];
  token: string;
  nodeName: string;
  dataDir: string;
  dockerHost?: string;
  pauseImage: string;
  nodeIp?: string;
  nodeLabels: Record<string, string>;
  taints: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  heartbeatIntervalMs: number;
  systemReserved: { cpu?: string; memory?: string };
  maxPods: number;
  network?: string;
  /** kubelet's --resolv-conf */
  resolvConf?: string;
  logLevel: string;
  /** HOST:PORT for Prometheus metrics, '' to disable */
  metricsBindAddress: string;
  /**
   * TESTS ONLY (hidden --token-refresh-test-scale): projected ServiceAccount tokens are
   * renewed this many times sooner than kubelet's 80 % / 24 h marks, so an end-to-end test
   * sees a renewal within seconds (Kubernetes' shortest token lives 10 minutes). 1 = kubelet.
   */
  tokenRefreshTestScale: number;
  /** the Ingress proxy's ports (0: off) */
  ingressHttpPort: number;
  ingressHttpsPort: number;
  /** ready sandboxes kept for pods to adopt (--sandbox-pool; 0: none) */
  sandboxPool: number;
}

function kvList(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`expected key=value, got "${part}"`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

function taintList(v: string): AgentConfig['taints'] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((t) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t);
      if (!m) throw new InvalidArgumentError(`taint must be key[=value]:Effect, got "${t}"`);
      return { key: m[1]!, ...(m[2] !== undefined ? { value: m[2] } : {}), effect: m[3] as 'NoSchedule' };
    });
}

export function parseAgentArgs(argv: string[]): AgentConfig {
  const cmd = new Command('skiff-agent')
    .description('skiff node agent: runs the pods bound to this node as Docker containers')
    .requiredOption(
      '--server <urls>',
      'skiff-server URL, e.g. https://10.0.0.10:6443; several servers comma-separated (the agent also learns the live ones from the default/kubernetes endpoints)',
    )
    .option('--token <token>', 'join token (K10...::node:secret)')
    .option('--token-file <file>', 'file holding the join token')
    .option('--node-name <name>', 'node name', hostname().toLowerCase())
    .option('--data-dir <dir>', 'agent state (emptyDir volumes)', '/var/lib/skiff/agent')
    .option('--docker-host <socket>', 'Docker Engine socket (default DOCKER_HOST or /var/run/docker.sock)')
    .option('--pause-image <image>', 'sandbox image', 'registry.k8s.io/pause:3.10')
    .option('--node-ip <ip>', 'InternalIP to report (default: the address routing to the server)')
    .option('--node-labels <k=v,...>', 'labels to add to the node', kvList, {})
    .option('--register-with-taints <key=value:Effect,...>', 'taints the node registers with', taintList, [])
    .option('--heartbeat-interval <duration>', 'heartbeat (and lease renewal) interval', '5s')
    .option('--system-reserved <cpu=...,memory=...>', 'resources kept out of allocatable', kvList, {})
    .option('--max-pods <n>', 'pods capacity', '110')
    .option(
      '--network <name>',
      'pod network: "skiff" = this node\'s pod subnet bridge with host-gw routes, service proxy and cluster DNS; any other Docker network name = attach sandboxes there and manage nothing',
      'skiff',
    )
    .option(
      '--resolv-conf <file>',
      'resolver configuration: upstreams for the cluster DNS and what dnsPolicy Default pods get (kubelet --resolv-conf)',
      '/etc/resolv.conf',
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .option('--metrics-bind-address <host:port>', 'serve Prometheus metrics here (empty to disable)', '127.0.0.1:10249')
    .option(
      '--ingress-http-port <port>',
      "port of the built-in Ingress controller's HTTP listener (0 disables it)",
      '80',
    )
    .option(
      '--ingress-https-port <port>',
      "port of the built-in Ingress controller's HTTPS listener (0 disables it)",
      '443',
    )
    .option(
      '--sandbox-pool <n>',
      "pause sandboxes kept started on the pod network for new pods to adopt (faster starts; their containers' kernel hostname is the pool's); 0 disables",
      '0',
    )
    .addOption(
      new Option(
        '--token-refresh-test-scale <n>',
        'TESTS ONLY: renew projected ServiceAccount tokens n times sooner than kubelet',
      )
        .default('1')
        .hideHelp(),
    )
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{
    server: string;
    token?: string;
    tokenFile?: string;
    nodeName: string;
    dataDir: string;
    dockerHost?: string;
    pauseImage: string;
    nodeIp?: string;
    nodeLabels: Record<string, string>;
    registerWithTaints: AgentConfig['taints'];
    heartbeatInterval: string;
    systemReserved: Record<string, string>;
    maxPods: string;
    network: string;
    resolvConf: string;
    logLevel: string;
    metricsBindAddress: string;
    tokenRefreshTestScale: string;
    ingressHttpPort: string;
    ingressHttpsPort: string;
    sandboxPool: string;
  }>();
  const token = o.token ?? (o.tokenFile ? readFileSync(o.tokenFile, 'utf8').trim() : process.env.SKIFF_TOKEN);
  if (!token) throw new InvalidArgumentError('a join token is required: --token, --token-file or SKIFF_TOKEN');
  const servers = [
    ...new Set(
      o.server
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    ),
  ];
  if (servers.length === 0 || servers.length > 32 || !servers.every((u) => /^https:\/\/[^\s/]+\/?$/.test(u))) {
    throw new InvalidArgumentError('--server must be one to 32 https://host:port URLs, comma-separated');
  }
  const maxPods = Number(o.maxPods);
  const tokenRefreshTestScale = Number(o.tokenRefreshTestScale);
  if (!(tokenRefreshTestScale >= 1)) throw new InvalidArgumentError('--token-refresh-test-scale must be a number >= 1');
  if (!Number.isInteger(maxPods) || maxPods < 1)
    throw new InvalidArgumentError('--max-pods must be a positive integer');
  // as kubelet: labels NodeRestriction would refuse stop the agent at start-up
  const labelsError = nodeLabelsError(o.nodeLabels, o.nodeName);
  if (labelsError) throw new Error(`--node-labels: ${labelsError}`);
  const ingressPort = (flag: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new InvalidArgumentError(`${flag} must be a port number (0 disables)`);
    return n;
  };
  const ingressHttpPort = ingressPort('--ingress-http-port', o.ingressHttpPort);
  const ingressHttpsPort = ingressPort('--ingress-https-port', o.ingressHttpsPort);
  const sandboxPool = Number(o.sandboxPool);
  if (!Number.isInteger(sandboxPool) || sandboxPool < 0 || sandboxPool > 100)
    throw new InvalidArgumentError('--sandbox-pool must be an integer from 0 to 100');
  const dockerHost = o.dockerHost ?? process.env.DOCKER_HOST;
  return {
    server: servers[0]!,
    servers,
    token,
    nodeName: o.nodeName,
    dataDir: o.dataDir,
    dockerHost: dockerHost?.replace(/^unix:\/\//, ''),
    pauseImage: o.pauseImage,
    nodeIp: o.nodeIp,
    nodeLabels: o.nodeLabels,
    taints: o.registerWithTaints,
    heartbeatIntervalMs: parseDuration(o.heartbeatInterval),
    systemReserved: { cpu: o.systemReserved.cpu, memory: o.systemReserved.memory },
    maxPods,
    network: o.network,
    resolvConf: o.resolvConf,
    logLevel: o.logLevel,
    metricsBindAddress: o.metricsBindAddress,
    tokenRefreshTestScale,
    ingressHttpPort,
    ingressHttpsPort,
    sandboxPool,
  };
}
