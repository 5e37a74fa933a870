// Resource usage for `kubectl top`, sampled as kubelet's summary API computes it: CPU in
// nanocores from the difference of cumulative usage between two samples, memory as the
// working set (usage minus inactive file pages). Node usage comes from /proc.
import { readFileSync } from 'node:fs';
import type { StatsMsg } from '../../proto/agent-protocol.js';
import type { Runtime } from '../runtime/types.js';
import { rfc3339 } from '../../proto/api/time.js';

interface Prev {
  cpuNs: number;
  at: number;
}

/** cumulative CPU time of the whole machine in ns (user+nice+system+irq+softirq+steal from /proc/stat) */
export function nodeCpuNanoseconds(procStat = readFileSync('/proc/stat', 'utf8')): number {
  const f = procStat.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  const hz = 100; // USER_HZ on Linux
  return ((user + nice + system + irq + softirq + steal) / hz) * 1e9;
}

/** working set of the machine: MemTotal - MemAvailable, close to the root cgroup's working set */
export function nodeMemoryWorkingSet(meminfo = readFileSync('/proc/meminfo', 'utf8')): number {
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  return Math.max(0, get('MemTotal') - get('MemAvailable'));
}

/** nanocores from two cumulative samples */
export function rateNanoCores(prev: Prev | undefined, cpuNs: number, at: number): number {
  if (!prev || at <= prev.at || cpuNs < prev.cpuNs) return 0;
  return Math.round(((cpuNs - prev.cpuNs) / (at - prev.at)) * 1000);
}

export class StatsSampler {
  private prev = new Map<string, Prev>();
  private nodePrev?: Prev;

  constructor(
    private readonly runtime: Runtime,
    private readonly node: string,
  ) {}

  async sample(windowSeconds: number): Promise<StatsMsg> {
    const now = Date.now();
    const nodeCpu = nodeCpuNanoseconds();
    const nodeUsage = {
      cpuNanoCores: rateNanoCores(this.nodePrev, nodeCpu, now),
      memoryWorkingSetBytes: nodeMemoryWorkingSet(),
    };
    this.nodePrev = { cpuNs: nodeCpu, at: now };
    const running = (await this.runtime.listPodContainers(this.node)).filter(
      (c) => c.type === 'container' && c.state === 'running',
    );
    const pods = new Map<string, StatsMsg['pods'][number]>();
    const seen = new Set<string>();
    await Promise.all(
      running.map(async (c) => {
        try {
          const st = await this.runtime.stats(c.id);
          seen.add(c.id);
          const cpu = rateNanoCores(this.prev.get(c.id), st.cpuUsageNanoseconds, st.timestamp);
          this.prev.set(c.id, { cpuNs: st.cpuUsageNanoseconds, at: st.timestamp });
          const key = c.podUid;
          let p = pods.get(key);
          if (!p)
            pods.set(key, (p = { pod: { namespace: c.namespace, name: c.podName, uid: c.podUid }, containers: [] }));
          p.containers.push({
            name: c.containerName,
            cpuNanoCores: cpu,
            memoryWorkingSetBytes: st.memoryWorkingSetBytes,
          });
        } catch {
          /* container went away between list and stats */
        }
      }),
    );
    for (const id of this.prev.keys()) if (!seen.has(id)) this.prev.delete(id);
    return { type: 'stats', timestamp: rfc3339(now), windowSeconds, node: nodeUsage, pods: [...pods.values()] };
  }
}

/** sample every intervalMs (the first report after 1 s, so CPU rates exist early) and send */
/** every 10 s: a HorizontalPodAutoscaler (15 s sync) then reacts to load within about 30 s */
export const STATS_INTERVAL_MS = 10_000;

export function startStatsReporter(
  sampler: StatsSampler,
  send: (m: StatsMsg) => boolean,
  intervalMs = STATS_INTERVAL_MS,
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let last = Date.now();
  const tick = async () => {
    const now = Date.now();
    try {
      send(await sampler.sample(Math.max(1, Math.round((now - last) / 1000))));
    } catch {
      /* runtime hiccup: next tick */
    }
    last = now;
    if (!stopped) {
      timer = setTimeout(tick, intervalMs);
      timer.unref();
    }
  };
  void sampler.sample(1).catch(() => undefined); // prime the CPU counters
  timer = setTimeout(tick, 1000);
  timer.unref();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
