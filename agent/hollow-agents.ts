// Hollow agents (kubemark's hollow nodes): many simulated nodes in one process, each the
// real agent (runAgent: its own WebSocket, node credential, registration, heartbeats,
// pod manager and workers, status and deletion reports, stats) over a HollowRuntime
// that runs nothing. Node facts are made up (4 CPUs, 16 GiB, 110 pods by default) and
// computed once, not read from this machine per node. scripts/bench/hollow.mjs is the
// command; the scale benchmark and the hollow e2e test start them.
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { NodeReport } from '../proto/agent-protocol.js';
import { parseAgentArgs } from './config.js';
import { runAgent } from './main.js';
import { KUBELET_VERSION, type NodeConfig } from './node/node-info.js';
import { HollowRuntime } from './runtime/hollow-runtime.js';

export interface HollowOptions {
  server: string;
  token: string;
  /** how many nodes, named `${prefix}${i}` for i from `first` */
  nodes: number;
  first?: number;
  prefix?: string;
  /** the nodes' data dirs (node credentials, pod dirs) go under it, one each */
  dataDir: string;
  /** a pod's fake start delay (the sandbox start), ms */
  startDelayMs?: number;
  /** nodes started per second (their registrations spread out as a real fleet's would); 0: all at once */
  startRate?: number;
  /** more agent flags for every node, e.g. ['--heartbeat-interval', '5s', '--max-pods', '110'] */
  agentArgs?: string[];
  cpu?: string;
  memory?: string;
  log?: Logger;
}

const READY: NodeReport['conditions'] = [
  {
    type: 'MemoryPressure',
    status: 'False',
    reason: 'KubeletHasSufficientMemory',
    message: 'kubelet has sufficient memory available',
  },
  {
    type: 'DiskPressure',
    status: 'False',
    reason: 'KubeletHasNoDiskPressure',
    message: 'kubelet has no disk pressure',
  },
  {
    type: 'PIDPressure',
    status: 'False',
    reason: 'KubeletHasSufficientPID',
    message: 'kubelet has sufficient PID available',
  },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];
const NOT_READY: NodeReport['conditions'] = READY.map((c) =>
  c.type === 'Ready'
    ? { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down' }
    : c,
);

/** a hollow node's Node report: made-up capacity, node info and address */
export function hollowNodeReport(
  cfg: NodeConfig,
  index: number,
  runtimeOk: boolean,
  o: { cpu?: string; memory?: string } = {},
): NodeReport {
  const memory = o.memory ?? '16Gi';
  const resources = { cpu: o.cpu ?? '4', memory, pods: String(cfg.maxPods), 'ephemeral-storage': '100Gi' };
  return {
    name: cfg.name,
    labels: cfg.labels,
    taints: cfg.taints,
    capacity: resources,
    allocatable: resources,
    nodeInfo: {
      machineID: `hollow-${index}`,
      systemUUID: `hollow-${index}`,
      bootID: `hollow-${index}`,
      kernelVersion: '6.1.0-hollow',
      osImage: 'Hollow Linux',
      containerRuntimeVersion: 'hollow://0.0.0-hollow',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    addresses: [
      { type: 'InternalIP', address: `10.${64 + ((index >> 8) & 127)}.${index & 255}.1` },
      { type: 'Hostname', address: cfg.name },
    ],
    conditions: runtimeOk ? READY : NOT_READY,
  };
}

/** start the hollow nodes; stop() ends them all (their pods are forgotten, as a lost machine's) */
export async function startHollowAgents(o: HollowOptions): Promise<{ names: string[]; stop(): void }> {
  const log = o.log ?? pino({ level: 'warn', base: { component: 'hollow-agent' } });
  const prefix = o.prefix ?? 'hollow-';
  const first = o.first ?? 0;
  const names: string[] = [];
  const agents: { stop(): void }[] = [];
  const gapMs = o.startRate && o.startRate > 0 ? 1000 / o.startRate : 0;
  const t0 = Date.now();
  for (let k = 0; k < o.nodes; k++) {
    const index = first + k;
    const name = `${prefix}${index}`;
    const cfg = parseAgentArgs([
      '--server',
      o.server,
      '--token',
      o.token,
      '--node-name',
      name,
      '--data-dir',
      join(o.dataDir, name),
      '--network',
      'hollow',
      '--metrics-bind-address',
      '',
      '--ingress-http-port',
      '0',
      '--ingress-https-port',
      '0',
      ...(o.agentArgs ?? []),
    ]);
    const runtime = new HollowRuntime({ startDelayMs: o.startDelayMs ?? 0, index });
    agents.push(
      await runAgent(cfg, {
        runtime,
        log,
        nodeReport: async (nodeCfg, ok) => hollowNodeReport(nodeCfg, index, ok, o),
        conditions: (_nodeCfg, ok) => (ok ? READY : NOT_READY),
      }),
    );
    names.push(name);
    const wait = t0 + (k + 1) * gapMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return {
    names,
    stop() {
      for (const a of agents) a.stop();
    },
  };
}
