// What the agent reports about its machine: capacity from the hardware, allocatable
// after system-reserved and kubelet's default hard-eviction reserve, node info, the
// address that routes to the server (not the Vagrant NAT one), and pressure conditions.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { createSocket } from 'node:dgram';
import { readFileSync, statfsSync } from 'node:fs';
import { cpus, hostname, totalmem, freemem } from 'node:os';
import si from 'systeminformation';
import type { NodeReport } from '../../proto/agent-protocol.js';
import { cpuToMillicores, memoryToBytes } from '../../proto/quantity.js';

export const KUBELET_VERSION = 'skiff/0.1.0';
/** kubelet's default hard eviction threshold memory.available<100Mi, kept out of allocatable */
const EVICTION_MEMORY = 100 * 1024 * 1024;

export interface NodeConfig {
  name: string;
  nodeIp?: string;
  labels: Record<string, string>;
  taints: NonNullable<NodeReport['taints']>;
  systemReserved: { cpu?: string; memory?: string };
  dataDir: string;
  serverUrl: string;
  maxPods: number;
}

/** the local address the kernel would use to reach the server (no packet is sent) */
/** a TEST-NET-3 address: connecting a UDP socket to it sends nothing, the kernel picks the default route */
const DEFAULT_ROUTE_PROBE = 'https://203.0.113.1:443';

export async function addressTowards(serverUrl: string): Promise<string | undefined> {
  const u = new URL(serverUrl);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.on('error', () => {
      sock.close();
      resolve(undefined);
    });
    sock.connect(Number(u.port || 443), host, () => {
      const a = sock.address().address;
      sock.close();
      resolve(a);
    });
  });
}

function readTrim(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

export async function nodeReport(
  cfg: NodeConfig,
  runtime: { version: string; conditionsReady: boolean; readyMessage?: string },
): Promise<NodeReport> {
  const os = await si.osInfo();
  const cpuCount = cpus().length;
  const memBytes = totalmem();
  let diskBytes = 0;
  try {
    const st = statfsSync(cfg.dataDir);
    diskBytes = st.blocks * st.bsize;
  } catch {
    /* unknown */
  }
  const capacity: Record<string, string> = {
    cpu: String(cpuCount),
    memory: `${Math.floor(memBytes / 1024)}Ki`,
    pods: String(cfg.maxPods),
    'ephemeral-storage': `${Math.floor(diskBytes / 1024)}Ki`,
  };
  const reservedCpu = cfg.systemReserved.cpu ? cpuToMillicores(cfg.systemReserved.cpu) : 0;
  const reservedMem = cfg.systemReserved.memory ? memoryToBytes(cfg.systemReserved.memory) : 0;
  const allocCpu = Math.max(0, cpuCount * 1000 - reservedCpu);
  const allocatable: Record<string, string> = {
    cpu: allocCpu % 1000 === 0 ? String(allocCpu / 1000) : `${allocCpu}m`,
    memory: `${Math.max(0, Math.floor((memBytes - reservedMem - EVICTION_MEMORY) / 1024))}Ki`,
    pods: String(cfg.maxPods),
    'ephemeral-storage': `${Math.floor((diskBytes * 0.9) / 1024)}Ki`,
  };
  // the address that routes to the server; when that is loopback (server on this machine)
  // the address of the default route instead, which other nodes and clients can reach
  const towards = await addressTowards(cfg.serverUrl);
  const usable = towards && !/^127\./.test(towards) && towards !== '::1' ? towards : undefined;
  const ip = cfg.nodeIp ?? usable ?? (await addressTowards(DEFAULT_ROUTE_PROBE)) ?? towards ?? '127.0.0.1';
  return {
    name: cfg.name,
    labels: cfg.labels,
    taints: cfg.taints,
    capacity,
    allocatable,
    nodeInfo: {
      machineID: readTrim('/etc/machine-id'),
      systemUUID: readTrim('/sys/class/dmi/id/product_uuid') || readTrim('/etc/machine-id'),
      bootID: readTrim('/proc/sys/kernel/random/boot_id'),
      kernelVersion: os.kernel,
      osImage: `${os.distro} ${os.release}${os.codename ? ` (${os.codename})` : ''}`.trim(),
      containerRuntimeVersion: `docker://${runtime.version}`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
    addresses: [
      { type: 'InternalIP', address: ip },
      { type: 'Hostname', address: hostname() },
    ],
    conditions: nodeConditions(cfg, runtime),
  };
}

export function nodeConditions(
  cfg: Pick<NodeConfig, 'dataDir'>,
  runtime: { conditionsReady: boolean; readyMessage?: string },
): NodeReport['conditions'] {
  const memAvail = memAvailable();
  const memPressure = memAvail < EVICTION_MEMORY;
  let diskPressure = false;
  try {
    const st = statfsSync(cfg.dataDir);
    diskPressure = st.bavail / st.blocks < 0.1;
  } catch {
    /* unknown: no pressure */
  }
  const pidMax = Number(readTrim('/proc/sys/kernel/pid_max')) || 32768;
  const pids = Number(readTrim('/proc/loadavg').split(' ')[3]?.split('/')[1] ?? 0);
  const pidPressure = pids > pidMax * 0.9;
  return [
    {
      type: 'MemoryPressure',
      status: memPressure ? 'True' : 'False',
      reason: memPressure ? 'KubeletHasInsufficientMemory' : 'KubeletHasSufficientMemory',
      message: memPressure ? 'kubelet has insufficient memory available' : 'kubelet has sufficient memory available',
    },
    {
      type: 'DiskPressure',
      status: diskPressure ? 'True' : 'False',
      reason: diskPressure ? 'KubeletHasDiskPressure' : 'KubeletHasNoDiskPressure',
      message: diskPressure ? 'kubelet has disk pressure' : 'kubelet has no disk pressure',
    },
    {
      type: 'PIDPressure',
      status: pidPressure ? 'True' : 'False',
      reason: pidPressure ? 'KubeletHasInsufficientPID' : 'KubeletHasSufficientPID',
      message: pidPressure ? 'kubelet has insufficient PID available' : 'kubelet has sufficient PID available',
    },
    runtime.conditionsReady
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          message: runtime.readyMessage ?? 'container runtime is down',
        },
  ];
}

function memAvailable(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readTrim('/proc/meminfo'));
  return m ? Number(m[1]) * 1024 : freemem();
}
