// The agent's probes (kubelet's prober_manager): one ProbeWorker per (pod uid,
// container, probe type) while that container runs, and the results cache by container
// id that the pod worker reads when it plans (liveness/startup failure -> restart) and
// when it computes status (started, ready). A changed result wakes the pod worker.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import type { Runtime, RuntimeContainer } from '../runtime/types.js';
import { latestPerName } from '../pods/plan.js';
import { ProbeWorker, type ProbeWorkerHost } from './probe-worker.js';
import { runProbe, type ProbeOutcome, type Prober } from './prober.js';
import { containerProbeStatus } from './rules.js';
import {
  PROBE_TYPES,
  probeOf,
  probeTypeName,
  realClock,
  type Clock,
  type ContainerProbeResults,
  type ProbedContainer,
  type ProbeResult,
} from './types.js';

export interface ProbeManagerOptions {
  runtime: Runtime;
  clock?: Clock;
  log?: Logger;
  event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void;
  /** a result changed: sync this pod */
  onChange(uid: string): void;
  /** the real prober unless a test brings its own */
  prober?: Prober;
}

interface PodEntry {
  pod: KubeObject;
  podIP?: string;
}

export class ProbeManager {
  private readonly workers = new Map<string, ProbeWorker>();
  private readonly results = new Map<string, ContainerProbeResults>();
  private readonly pods = new Map<string, PodEntry>();
  private readonly host: ProbeWorkerHost;
  private readonly prober: Prober;

  constructor(private readonly o: ProbeManagerOptions) {
    this.prober = o.prober ?? runProbe;
    this.host = {
      clock: o.clock ?? realClock,
      started: (id) => this.isStarted(id),
      probe: (w) => this.probe(w),
      set: (w, r, notify) => this.set(w, r, notify),
    };
  }

  /**
   * After every pod sync: a worker for each probe of each running app container, none
   * for anything else. A pod being deleted stops probing (kubelet stops liveness and
   * startup probes at deletion; readiness no longer matters to a terminating pod).
   */
  sync(pod: KubeObject, observed: RuntimeContainer[], podIP?: string): void {
    const uid = pod.metadata.uid!;
    if (pod.metadata.deletionTimestamp) {
      this.removePod(uid);
      return;
    }
    this.pods.set(uid, { pod, podIP });
    const latest = latestPerName(observed);
    const wanted = new Set<string>();
    for (const c of (pod.spec?.containers ?? []) as ProbedContainer[]) {
      const cur = latest.get(c.name)?.[0];
      if (!cur || cur.state !== 'running') continue;
      for (const type of PROBE_TYPES) {
        const probe = probeOf(c, type);
        if (!probe) continue;
        const key = `${uid}/${c.name}/${type}`;
        wanted.add(key);
        const w = this.workers.get(key);
        if (w?.containerId === cur.id) continue;
        if (w) this.removeWorker(w);
        const startedAt = Date.parse(cur.startedAt ?? '');
        const nw = new ProbeWorker(
          uid,
          c.name,
          type,
          probe,
          cur.id,
          Number.isNaN(startedAt) ? this.host.clock.now() : startedAt,
          this.host,
        );
        this.workers.set(key, nw);
        nw.start();
      }
    }
    for (const w of [...this.workers.values()]) if (w.uid === uid && !wanted.has(w.key)) this.removeWorker(w);
  }

  removePod(uid: string): void {
    for (const w of [...this.workers.values()]) if (w.uid === uid) this.removeWorker(w);
    this.pods.delete(uid);
  }

  stop(): void {
    for (const w of [...this.workers.values()]) this.removeWorker(w);
    this.pods.clear();
  }

  /** the probe results of the pod's running containers, by container id */
  snapshot(uid: string): Record<string, ContainerProbeResults> {
    const out: Record<string, ContainerProbeResults> = {};
    for (const w of this.workers.values()) {
      if (w.uid !== uid) continue;
      const r = this.results.get(w.containerId);
      if (r) out[w.containerId] = { ...r };
    }
    return out;
  }

  get size(): number {
    return this.workers.size;
  }

  private removeWorker(w: ProbeWorker): void {
    w.stop();
    this.workers.delete(w.key);
    if (![...this.workers.values()].some((o) => o.containerId === w.containerId)) this.results.delete(w.containerId);
    else {
      const r = this.results.get(w.containerId);
      if (r) delete r[w.type];
    }
  }

  private isStarted(containerId: string): boolean {
    const w = [...this.workers.values()].find((x) => x.containerId === containerId);
    const spec = w && this.containerSpec(w);
    return containerProbeStatus({
      running: true,
      hasStartupProbe: !!(spec && probeOf(spec, 'startup')),
      hasReadinessProbe: false,
      results: this.results.get(containerId),
    }).started;
  }

  private containerSpec(w: ProbeWorker): ProbedContainer | undefined {
    return ((this.pods.get(w.uid)?.pod.spec?.containers ?? []) as ProbedContainer[]).find(
      (c) => c.name === w.containerName,
    );
  }

  private async probe(w: ProbeWorker): Promise<ProbeOutcome> {
    const entry = this.pods.get(w.uid);
    const container = this.containerSpec(w);
    if (!entry || !container) return { error: 'pod or container gone' };
    const out = await this.prober(w.probe, {
      runtime: this.o.runtime,
      containerId: w.containerId,
      container,
      podIP: entry.podIP,
    });
    if (this.workers.get(w.key) !== w) return out; // stopped meanwhile: say nothing
    const fieldPath = `spec.containers{${w.containerName}}`;
    // kubelet prober.probe: every failed run is an Unhealthy event, thresholds or not
    if ('error' in out)
      this.o.event(
        entry.pod,
        'Warning',
        'Unhealthy',
        `${probeTypeName(w.type)} probe errored: ${out.error}`,
        fieldPath,
      );
    else if (out.result === 'failure')
      this.o.event(
        entry.pod,
        'Warning',
        'Unhealthy',
        `${probeTypeName(w.type)} probe failed: ${out.output}`,
        fieldPath,
      );
    return out;
  }

  private set(w: ProbeWorker, result: ProbeResult, notify: boolean): void {
    if (this.workers.get(w.key) !== w) return;
    const r = this.results.get(w.containerId) ?? {};
    const changed = r[w.type] !== result;
    r[w.type] = result;
    this.results.set(w.containerId, r);
    if (!changed || !notify) return;
    this.o.log?.debug({ pod: w.uid, container: w.containerName, probe: w.type, result }, 'probe result changed');
    if (w.type === 'startup' && result === 'success') {
      // started: readiness may run now rather than at its next tick
      this.workers.get(`${w.uid}/${w.containerName}/readiness`)?.trigger();
    }
    this.o.onChange(w.uid);
  }
}
